"""Tables of the service's store (SQLAlchemy 2 declarative models)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, BigInteger, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text,
                        TypeDecorator)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    """An API key: only its SHA-256 is stored; ``prefix`` finds it without scanning."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Article(Base):
    """An article comments are posted under; its text is what off-topic is measured against."""

    __tablename__ = "articles"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    policy: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    author_policy: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # over MODERATION_AUTHOR_POLICY
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ThreadEntry(Base):
    """A recent comment on an article, remembered (bounded per article) as context for later comments."""

    __tablename__ = "thread_entries"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(200))
    comment_id: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (Index("ix_thread_entries_article", "article_id", "id"),
                      Index("ix_thread_entries_comment", "comment_id"))


class Feedback(Base):
    """Scores suggested by a client (Perspective ``suggestscore``): labelled data for retraining."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    labels: Mapped[dict] = mapped_column(JSON)
    context: Mapped[str | None] = mapped_column(Text, nullable=True)
    community_id: Mapped[str | None] = mapped_column(String(500), nullable=True)
    client_token: Mapped[str | None] = mapped_column(String(500), nullable=True)
    api_key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredComment(Base):
    """A comment the service decided on and kept: held, rejected, or (optionally) every comment.

    ``status`` is where it stands now (pending review, approved, rejected, appealed: a rejection its author
    asked to be looked at again); ``decided_by`` is None while
    the service's own decision stands. ``version`` increases with every change, so two moderators deciding
    the same comment at once resolve to exactly one winner.
    """

    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(200), unique=True)
    article_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    parent_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    author_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    text: Mapped[str] = mapped_column(Text)
    scores: Mapped[dict] = mapped_column(JSON)
    flags: Mapped[list] = mapped_column(JSON)
    reasons: Mapped[list] = mapped_column(JSON)
    spans: Mapped[list] = mapped_column(JSON)
    warnings: Mapped[list | None] = mapped_column(JSON, nullable=True)  # None: stored before warnings were kept
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    model_version: Mapped[str] = mapped_column(String(100))
    automatic_decision: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    labels: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rejection_reason: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {"code", "detail"} of a person's
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last re-score by a newer model (``moderation review rescore``): when, the model and decision before and
    # after, the scores and reasons before. None: scored once.
    rescored: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # The commenter's appeal of a rejection: their words, when, and the status and decider it had before.
    appeal: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    __table_args__ = (Index("ix_comments_status_created", "status", "created_at"),
                      Index("ix_comments_article", "article_id"))


class DecisionRecord(Base):
    """The audit trail: every decision attempt on a comment, by whom, and whether it took effect."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(16))
    labels: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    rejection_reason: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))  # applied | conflict
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (Index("ix_decisions_comment", "comment_id", "id"), Index("ix_decisions_created", "created_at"))


class User(Base):
    """A moderator or admin of the review UI; the password is stored as an Argon2 hash."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEvent(Base):
    """An event to deliver to the comment system's webhook (a comment held, released from the queue, decided);
    kept until delivered (survives restarts)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # One event per happening: a comment enters the queue once however often its request is retried.
    dedupe_key: Mapped[str | None] = mapped_column(String(300), nullable=True, unique=True)
    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)


class Author(Base):
    """What the service has seen of one commenter: counts kept in the transactions that decide their comments.

    ``approved`` and the two rejected counts are where the author's comments stand now (a reversed decision
    moves a comment from one count to the other); ``scored`` and ``held`` only grow.
    """

    __tablename__ = "authors"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    scored: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    approved: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)  # by people
    auto_rejected: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuthorEvent(Base):
    """One decision on an author's comment (the service's or a person's), newest last: the rules' window."""

    __tablename__ = "author_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    author_id: Mapped[str] = mapped_column(String(200))
    comment_id: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))  # approved | rejected (by a person) | auto_rejected
    by_person: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    __table_args__ = (Index("ix_author_events_author", "author_id", "id"),)


class WordList(Base):
    """A named list of words, phrases and patterns, each with an action and a reason code."""

    __tablename__ = "wordlists"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    entries: Mapped[list] = mapped_column(JSON)
    article_ids: Mapped[list | None] = mapped_column(JSON, nullable=True)  # None: every article
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# Failed logins to the review UI (migration 0003), used through SQLAlchemy Core rather than as an ORM model.
login_metadata = MetaData()
login_failures = Table(
    "login_failures", login_metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False),
    Column("address", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_login_failures_username", "username", "created_at"),
    Index("ix_login_failures_address", "address", "created_at"),
)

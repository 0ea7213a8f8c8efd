"""Tables of the service's store (SQLAlchemy 2 declarative models)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Article(Base):
    """An article comments are posted under; its text is what off-topic is measured against."""

    __tablename__ = "articles"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    policy: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ThreadEntry(Base):
    """A recent comment on an article, remembered (bounded per article) as context for later comments."""

    __tablename__ = "thread_entries"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(200))
    comment_id: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

"""Authors' histories: counts of what became of their comments, and their recent decisions.

Counts change in the transaction that changes a comment: scoring writes them with the held comments
(:func:`scored_statements`), a person's decision with the decision (:func:`on_decision`). The rules that read
them live in :mod:`moderation.service.authors`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..runtime.policy import APPROVE, REVIEW
from ..store import Store
from ..store.models import Author, AuthorEvent, StoredComment, ThreadEntry, utcnow
from .retention import PURGED_TEXT

COUNTS = ("scored", "held", "approved", "rejected", "auto_rejected")
APPROVED, REJECTED, AUTO_REJECTED = "approved", "rejected", "auto_rejected"
MAX_WINDOW = 1000


def _upsert(dialect):
    statement = dialect.insert(Author)
    return statement.on_conflict_do_update(
        index_elements=["id"],
        set_={**{name: getattr(Author, name) + getattr(statement.excluded, name) for name in COUNTS},
              "last_seen": statement.excluded.last_seen})


_UPSERT = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}
_CREATE = {name: dialect.insert(Author).on_conflict_do_nothing(index_elements=["id"])
           for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}
_INSERT_EVENT = insert(AuthorEvent)


@dataclass(frozen=True)
class Scored:
    """One freshly scored comment of a known author, and the service's decision on it."""

    author_id: str
    comment_id: str
    decision: str  # approve | review | reject


@dataclass
class History:
    """An author's counts and most recent decisions, newest first."""

    author_id: str
    scored: int = 0
    held: int = 0
    approved: int = 0
    rejected: int = 0
    auto_rejected: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    recent: list[dict] = field(default_factory=list)  # {"comment_id", "outcome", "by_person", "at"}

    @property
    def known(self) -> bool:
        return self.first_seen is not None

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTS}


def scored_statements(store: Store, scored: list[Scored]) -> list[tuple]:
    """``(statement, rows)`` pairs that count freshly scored comments, for :meth:`Store.execute_many`.

    Authors are written in id order, so concurrent batches lock their rows in one order (no deadlock).
    """
    if not scored:
        return []
    now = utcnow()
    totals: dict[str, dict[str, int]] = {}
    events = []
    for item in scored:
        counts = totals.setdefault(item.author_id, dict.fromkeys(COUNTS, 0))
        counts["scored"] += 1
        if item.decision == REVIEW:
            counts["held"] += 1
            continue
        outcome = APPROVED if item.decision == APPROVE else AUTO_REJECTED
        counts[outcome] += 1
        events.append({"author_id": item.author_id, "comment_id": item.comment_id, "outcome": outcome,
                       "by_person": False, "created_at": now})
    rows = [{"id": author_id, **totals[author_id], "first_seen": now, "last_seen": now}
            for author_id in sorted(totals)]
    return [(_UPSERT[store.engine.dialect.name], rows), (_INSERT_EVENT, events)]


def on_decision(session: Session, comment: StoredComment, decision: str, by_person: bool = True) -> None:
    """Move a comment from its author's previous count to the new one, in the deciding transaction.

    ``comment`` is as it was before the decision: held (counted in no outcome), approved, or rejected by a
    person or automatically.
    """
    if not comment.author_id:
        return
    previous = None
    if comment.status == "approved":
        previous = APPROVED
    elif comment.status == "rejected":
        previous = REJECTED if comment.decided_by else AUTO_REJECTED
    now = utcnow()
    current = APPROVED if decision == APPROVE else REJECTED if by_person else AUTO_REJECTED
    dialect = session.get_bind().dialect.name
    session.execute(_CREATE[dialect], [{"id": comment.author_id, **dict.fromkeys(COUNTS, 0), "first_seen": now,
                                        "last_seen": now}])
    changes = {}
    if previous != current:  # approving an approved comment again changes no count
        changes[current] = getattr(Author, current) + 1
        if previous is not None:  # never below 0: a comment decided before authors were counted was never counted
            column = getattr(Author, previous)
            changes[previous] = case((column > 0, column - 1), else_=0)
    if changes:
        session.execute(update(Author).where(Author.id == comment.author_id).values(**changes)
                        .execution_options(synchronize_session=False))
    session.add(AuthorEvent(author_id=comment.author_id, comment_id=comment.client_id, outcome=current,
                            by_person=by_person, created_at=now))


def histories(store: Store, author_ids: list[str], window: int) -> dict[str, History]:
    """Every listed author's counts and last ``window`` decisions; unknown authors get empty histories."""
    window = max(1, min(window, MAX_WINDOW))
    found = {author_id: History(author_id) for author_id in author_ids}
    if not author_ids:
        return found
    with store.session() as session:
        for row in session.scalars(select(Author).where(Author.id.in_(author_ids))):
            found[row.id] = History(row.id, *(getattr(row, name) for name in COUNTS), row.first_seen, row.last_seen)
        rank = func.row_number().over(partition_by=AuthorEvent.author_id, order_by=AuthorEvent.id.desc())
        ranked = (select(AuthorEvent.author_id, AuthorEvent.comment_id, AuthorEvent.outcome, AuthorEvent.by_person,
                         AuthorEvent.created_at, rank.label("rank"))
                  .where(AuthorEvent.author_id.in_(author_ids)).subquery())
        for row in session.execute(select(ranked).where(ranked.c.rank <= window)
                                   .order_by(ranked.c.author_id, ranked.c.rank)):
            found[row.author_id].recent.append({"comment_id": row.comment_id, "outcome": row.outcome,
                                                "by_person": bool(row.by_person), "at": row.created_at})
    return found


def for_rules(store: Store, author_ids: list[str], window: int) -> dict[str, History]:
    """What the author rules read of each author (counts, and the outcomes of their last ``window`` decisions
    without times or comments), in a few raw queries: this runs on every request the rules apply to."""
    window = max(1, min(window, MAX_WINDOW))
    markers = ", ".join("?" * len(author_ids))
    events = (f"SELECT outcome, by_person FROM {AuthorEvent.__tablename__} WHERE author_id = ? "
              "ORDER BY id DESC LIMIT ?")
    counts, *recents = store.all_rows(
        [(f"SELECT id, {', '.join(COUNTS)} FROM {Author.__tablename__} WHERE id IN ({markers})", tuple(author_ids))]
        + [(events, (author_id, window)) for author_id in author_ids])
    found = {author_id: History(author_id) for author_id in author_ids}
    for author_id, *values in counts:
        found[author_id] = History(author_id, *values)
    for author_id, rows in zip(author_ids, recents):
        found[author_id].recent = [{"outcome": outcome, "by_person": bool(by_person)} for outcome, by_person in rows]
    return found


def history(store: Store, author_id: str, last: int = 10) -> History:
    """One author's history with their ``last`` decisions."""
    return histories(store, [author_id], last)[author_id]


def pending_comments(store: Store, author_id: str, limit: int = 20) -> tuple[list[str], int]:
    """Client ids of the author's comments waiting in the review queue (oldest first), and how many there are."""
    with store.session() as session:
        condition = (StoredComment.author_id == author_id, StoredComment.status == "pending")
        total = session.scalar(select(func.count()).select_from(StoredComment).where(*condition))
        ids = session.scalars(select(StoredComment.client_id).where(*condition)
                              .order_by(StoredComment.created_at).limit(limit)).all()
        return list(ids), int(total)


@dataclass(frozen=True)
class AuthorPurge:
    comments_deleted: int
    comments_anonymised: int
    thread_entries_deleted: int
    events_deleted: int


def purge_author(store: Store, author_id: str, keep_labels: bool = False) -> AuthorPurge:
    """Erase an author: their counts, decisions, stored comments and remembered thread entries.

    With ``keep_labels``, comments a person decided keep their scores, decision and labels but lose their
    text, author, parent and spans, as retention's ``--keep-labels`` does.
    """
    with store.session() as session:
        client_ids = list(session.scalars(select(StoredComment.client_id)
                                          .where(StoredComment.author_id == author_id)))
        client_ids += session.scalars(select(AuthorEvent.comment_id).where(AuthorEvent.author_id == author_id))
        mine = StoredComment.author_id == author_id
        anonymised = 0
        if keep_labels:
            anonymised = session.execute(
                update(StoredComment).where(mine, StoredComment.decided_by.is_not(None))
                .values(text=PURGED_TEXT, author_id=None, parent_id=None, spans=[])
                .execution_options(synchronize_session=False)).rowcount
        deleted = session.execute(delete(StoredComment).where(mine).execution_options(synchronize_session=False)
                                  ).rowcount
        threads = 0
        unique_ids = sorted(set(client_ids))
        for start in range(0, len(unique_ids), 500):
            threads += session.execute(delete(ThreadEntry).where(ThreadEntry.comment_id.in_(
                unique_ids[start:start + 500])).execution_options(synchronize_session=False)).rowcount
        events = session.execute(delete(AuthorEvent).where(AuthorEvent.author_id == author_id)
                                 .execution_options(synchronize_session=False)).rowcount
        session.execute(delete(Author).where(Author.id == author_id).execution_options(synchronize_session=False))
    return AuthorPurge(deleted, anonymised, threads, events)


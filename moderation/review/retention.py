"""Retention: remove stored comment text past a period, optionally keeping anonymised labels."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update

from ..store import Store
from ..store.models import Author, AuthorEvent, Feedback, StoredComment, ThreadEntry, utcnow

PURGED_TEXT = ""


@dataclass(frozen=True)
class PurgeReport:
    comments_deleted: int
    comments_anonymised: int
    thread_entries_deleted: int
    feedback_deleted: int
    author_events_deleted: int = 0
    authors_deleted: int = 0  # not seen since the cutoff: their history goes with their comments


def purge(store: Store, older_than_days: float, keep_labels: bool = False) -> PurgeReport:
    """Delete what was stored more than ``older_than_days`` ago.

    With ``keep_labels``, decided comments keep their scores, decision and labels but lose their text,
    author, parent and spans (so aggregate label statistics survive and nobody can be identified);
    everything else is deleted. Thread memory, suggested-score feedback, authors' decisions and authors not
    seen since the cutoff are always deleted.
    """
    if older_than_days < 0:
        raise ValueError("--older-than must not be negative")
    cutoff = utcnow() - timedelta(days=older_than_days)
    with store.session() as session:
        old = StoredComment.created_at < cutoff
        anonymised = 0
        if keep_labels:
            anonymised = session.execute(
                update(StoredComment).where(old, StoredComment.decided_by.is_not(None),
                                            StoredComment.text != PURGED_TEXT)
                .values(text=PURGED_TEXT, author_id=None, parent_id=None, spans=[])
                .execution_options(synchronize_session=False)).rowcount
            deleted = session.execute(delete(StoredComment).where(old, StoredComment.decided_by.is_(None))
                                      .execution_options(synchronize_session=False)).rowcount
        else:
            deleted = session.execute(delete(StoredComment).where(old)
                                      .execution_options(synchronize_session=False)).rowcount
        threads = session.execute(delete(ThreadEntry).where(ThreadEntry.created_at < cutoff)
                                  .execution_options(synchronize_session=False)).rowcount
        feedback = session.execute(delete(Feedback).where(Feedback.created_at < cutoff)
                                   .execution_options(synchronize_session=False)).rowcount
        events = session.execute(delete(AuthorEvent).where(AuthorEvent.created_at < cutoff)
                                 .execution_options(synchronize_session=False)).rowcount
        authors = session.execute(delete(Author).where(Author.last_seen < cutoff)
                                  .execution_options(synchronize_session=False)).rowcount
    return PurgeReport(deleted, anonymised, threads, feedback, events, authors)


def is_purged(comment: StoredComment) -> bool:
    return comment.text == PURGED_TEXT

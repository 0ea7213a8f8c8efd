"""Thread memory: the most recent comments on each article, kept as context for scoring the next ones.

Functions take an open session, so one request reads all its context in one transaction.
"""
from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .store import Store
from .store.models import Article, ThreadEntry

TRIM_EVERY = 16


def article_record(store: Store, article_id: str) -> Article | None:
    with store.session() as session:
        return session.get(Article, article_id)


def recent_in(session: Session, article_id: str, limit: int) -> list[tuple[str, str]]:
    """(comment id, text) of the last ``limit`` remembered comments on an article, oldest first."""
    rows = session.execute(select(ThreadEntry.comment_id, ThreadEntry.text)
                           .where(ThreadEntry.article_id == article_id)
                           .order_by(ThreadEntry.id.desc()).limit(limit)).all()
    return [(r.comment_id, r.text) for r in reversed(rows)]


def recent(store: Store, article_id: str, limit: int) -> list[tuple[str, str]]:
    with store.session() as session:
        return recent_in(session, article_id, limit)


def parent_texts_in(session: Session, comment_ids: list[str]) -> dict[str, str]:
    """Texts of remembered comments by id (the latest entry where an id was remembered twice)."""
    if not comment_ids:
        return {}
    rows = session.execute(select(ThreadEntry.comment_id, ThreadEntry.text)
                           .where(ThreadEntry.comment_id.in_(comment_ids)).order_by(ThreadEntry.id)).all()
    return {r.comment_id: r.text for r in rows}


def remember_in(session: Session, entries: list[tuple[str, str, str]], keep: int) -> None:
    """Add (article id, comment id, text) entries and trim touched articles to their last ``keep``."""
    if not entries:
        return
    rows = [ThreadEntry(article_id=a, comment_id=c, text=t) for a, c, t in entries]
    session.add_all(rows)
    session.flush()
    # Trimming costs two queries, so do it on about one insert in TRIM_EVERY; articles stay under 2 * keep.
    for article_id in {row.article_id for row in rows if row.id % TRIM_EVERY == 0}:
        count = session.scalar(select(func.count()).where(ThreadEntry.article_id == article_id))
        if count > 2 * keep:
            cutoff = session.scalar(select(ThreadEntry.id).where(ThreadEntry.article_id == article_id)
                                    .order_by(ThreadEntry.id.desc()).offset(keep).limit(1))
            session.execute(delete(ThreadEntry).where(ThreadEntry.article_id == article_id,
                                                      ThreadEntry.id <= cutoff))

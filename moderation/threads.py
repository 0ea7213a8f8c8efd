"""Thread memory: the most recent comments on each article, kept as context for scoring the next ones."""
from __future__ import annotations

from sqlalchemy import delete, func, select

from .store import Store
from .store.models import Article, ThreadEntry

TRIM_EVERY = 16


def article_record(store: Store, article_id: str) -> Article | None:
    with store.session() as session:
        return session.get(Article, article_id)


def recent(store: Store, article_id: str, limit: int) -> list[tuple[str, str]]:
    """(comment id, text) of the last ``limit`` remembered comments on an article, oldest first."""
    with store.session() as session:
        rows = session.execute(select(ThreadEntry.comment_id, ThreadEntry.text)
                               .where(ThreadEntry.article_id == article_id)
                               .order_by(ThreadEntry.id.desc()).limit(limit)).all()
    return [(r.comment_id, r.text) for r in reversed(rows)]


def parent_text(store: Store, comment_id: str) -> str | None:
    with store.session() as session:
        return session.scalars(select(ThreadEntry.text).where(ThreadEntry.comment_id == comment_id)
                               .order_by(ThreadEntry.id.desc()).limit(1)).first()


def remember(store: Store, entries: list[tuple[str, str, str]], keep: int) -> None:
    """Add (article id, comment id, text) entries and trim each touched article to its last ``keep``."""
    if not entries:
        return
    with store.session() as session:
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

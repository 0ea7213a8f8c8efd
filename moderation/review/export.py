"""Moderators' decisions and clients' suggested scores as rows of the training schema."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..model.labels import LABELS
from ..store import Store
from ..store.models import Article, Feedback
from .queue import APPROVED, reviewed_since
from .retention import is_purged


def labels_from_review(status: str, flags: list[str], corrected: dict | None) -> dict:
    """What a decision says about each label; corrections win.

    An approval means nothing wrong: every label 0. A rejection without corrections confirms the labels
    the model flagged (``toxic`` if it flagged none) and leaves the others unknown.
    """
    if status == APPROVED:
        labels = {label: 0 for label in LABELS}
    else:
        confirmed = [f for f in flags if f in LABELS] or ["toxic"]
        labels = {label: 1 for label in confirmed}
    labels.update(corrected or {})
    return labels


def training_rows(store: Store, since: datetime | None = None, include_feedback: bool = True) -> list[dict]:
    """Reviewed comments (and suggested scores) as training rows: text, ids, labels, source."""
    rows = []
    for comment in reviewed_since(store, since):
        if comment.decided_by is None or is_purged(comment):
            continue  # not decided yet, or its text is gone past the retention period
        labels = labels_from_review(comment.status, comment.flags, comment.labels)
        rows.append({"id": comment.client_id, "article_id": comment.article_id, "parent_id": comment.parent_id,
                     "text": comment.text, **{label: labels.get(label) for label in LABELS}, "source": "reviews",
                     "decided_at": comment.decided_at.isoformat() if comment.decided_at else None})
    if include_feedback:
        with store.session() as session:
            statement = select(Feedback).order_by(Feedback.id)
            if since is not None:
                statement = statement.where(Feedback.created_at >= since)
            for item in session.scalars(statement):
                rows.append({"id": item.client_token or f"feedback-{item.id}", "article_id": None, "parent_id": None,
                             "text": item.text, **{label: item.labels.get(label) for label in LABELS},
                             "source": "feedback", "decided_at": item.created_at.isoformat()})
    return rows


def article_rows(store: Store) -> list[dict]:
    with store.session() as session:
        return [{"id": a.id, "title": a.title, "body": a.body} for a in session.scalars(select(Article))]

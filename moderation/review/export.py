"""Moderators' decisions and clients' suggested scores as rows of the training schema."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..model.labels import LABELS, REJECT_LABELS
from ..store import Store
from ..store.models import Article, Feedback
from .queue import APPEALED, APPROVED, reviewed_since
from .retention import is_purged


def labels_from_review(status: str, reasons: list[dict], confirmed: dict | None) -> dict:
    """What a person's decision says about each label: what they confirmed, else what the decision implies.

    Parameters
    ----------
    status : {"approved", "rejected"}
        The comment's status after the decision.
    reasons : list of dict
        Why the service held or rejected the comment (``label`` with ``score``, or ``unsupported_language``).
    confirmed : dict, optional
        Labels a person set, 0 or 1: given in the API's ``labels`` or set yes/no on the card.

    Returns
    -------
    dict
        Label to 0 or 1. An approval implies 0 for every label that can reject; a rejection implies 1 for
        every label its reasons name. Confirmed labels override both. Labels absent are unknown.
    """
    if status == APPROVED:
        implied = dict.fromkeys(REJECT_LABELS, 0)
    else:
        implied = {reason["label"]: 1 for reason in reasons or [] if reason.get("label") in LABELS}
    return {**implied, **(confirmed or {})}


def training_rows(store: Store, since: datetime | None = None, include_feedback: bool = True) -> list[dict]:
    """Reviewed comments (and suggested scores) as training rows: text, ids, labels (None = unknown), source.

    A decision that says nothing about any label (say, a rejected comment held only for its language) is no row.
    """
    rows = []
    for comment in reviewed_since(store, since):
        if comment.decided_by is None or comment.status == APPEALED or is_purged(comment):
            continue  # not decided yet, contested by an appeal, or its text is gone past the retention period
        labels = labels_from_review(comment.status, comment.reasons, comment.labels)
        if not labels:
            continue
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

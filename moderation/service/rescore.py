"""Re-scoring the review queue after a model change: held comments scored and decided again, in batches.

Each batch is read, scored as :class:`Moderation` scores a new comment (article, thread, parent, the article's
policy, author rules, word lists) and written in one short transaction of its own; a comment a person decides
while the batch is scored keeps that person's decision (:func:`queue.apply_rescores`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ..review import queue, reasons
from ..runtime.policy import APPROVE, REJECT, REVIEW
from .moderate import Incoming, Moderation

DEFAULT_BATCH = 200


@dataclass
class Report:
    """What a re-score found: the new decisions of the comments it re-scored (or would, in a dry run)."""

    model_version: str
    dry_run: bool
    decisions: dict[str, int] = field(default_factory=lambda: dict.fromkeys((APPROVE, REVIEW, REJECT), 0))
    changed: int = 0  # whose decision differs from the one they were held with
    left_to_people: int = 0  # decided by a person while this ran: left untouched

    @property
    def rescored(self) -> int:
        return sum(self.decisions.values())


def rescore(moderation: Moderation, since: datetime | None = None, dry_run: bool = False,
            batch_size: int = DEFAULT_BATCH, subscribed: frozenset[str] = frozenset(), codes=reasons.CORAL_CODES,
            on_batch: Callable[[int], None] | None = None) -> Report:
    """Score the held comments no person decided (created from ``since`` on) with the served model, and apply
    the new decisions unless ``dry_run``.

    Parameters
    ----------
    moderation : Moderation
        The service's scoring path, with its model, store and caches.
    since : datetime, optional
        Only comments stored at or after this time (UTC).
    dry_run : bool
        Count what the new decisions would be; change nothing.
    batch_size : int
        Comments read, scored and written together (one transaction per batch).
    subscribed : set of str
        The webhook's events: ``comment.decided`` and ``comment.released`` are queued for every comment the new
        model approves or rejects, if subscribed.
    codes : tuple of str
        The deployment's rejection reason codes, one of which an automatic rejection's event carries.
    on_batch : callable, optional
        Called with the number of comments of each batch once it is done (a progress bar).

    Returns
    -------
    Report
    """
    scorer = moderation.scorer()
    report = Report(scorer.version, dry_run)
    after_id = 0
    while True:
        held = queue.held_for_rescore(moderation.store, scorer.version, since, after_id, batch_size)
        if not held:
            return report
        after_id = held[-1].id
        outcomes = moderation.rescore([Incoming(c.client_id, c.text, c.article_id, c.parent_id,
                                                author_id=c.author_id) for c in held], scorer)
        rescores = [queue.Rescore(comment, outcome.result.as_dict(), outcome.language, scorer.version,
                                  outcome.warnings) for comment, outcome in zip(held, outcomes)]
        if not dry_run:
            applied = set(queue.apply_rescores(moderation.store, rescores, subscribed, codes))
            report.left_to_people += len(rescores) - len(applied)
            rescores = [r for r in rescores if r.comment.client_id in applied]
        for item in rescores:
            report.decisions[item.result["decision"]] += 1
            report.changed += item.result["decision"] != item.comment.automatic_decision
        if on_batch is not None:
            on_batch(len(held))

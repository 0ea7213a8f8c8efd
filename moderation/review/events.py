"""The webhook's events: what each says, and which ones a deployment subscribes to.

- ``comment.held``: a comment entered the review queue (with its scores and reasons);
- ``comment.released``: a held comment left the queue (a person approved or rejected it);
- ``comment.decided``: a person decided a stored comment (held or rejected by the service).

Each event is written to the outbox in the transaction that makes it happen (:mod:`.webhooks` delivers it).
"""
from __future__ import annotations

from .. import settings
from ..errors import InvalidInput

HELD, RELEASED, DECIDED = "comment.held", "comment.released", "comment.decided"
EVENTS = (HELD, RELEASED, DECIDED)
DEFAULT = frozenset({DECIDED})  # what a webhook received before it could choose


class UnknownEvent(InvalidInput, ValueError):
    """A subscription names an event the service does not send."""


def events_from(setting) -> frozenset[str]:
    """The subscribed events: a list or a comma-separated string of :data:`EVENTS`; :data:`DEFAULT` when unset."""
    if setting is None or setting == "":
        return DEFAULT
    chosen = frozenset(settings.names(setting))
    unknown = sorted(chosen - set(EVENTS))
    if unknown:
        raise UnknownEvent(f"unknown webhook event {unknown[0]!r} (known: {', '.join(EVENTS)})",
                           field="WEBHOOK_EVENTS")
    return chosen

"""Decisions delivered to the comment system's webhook from a database outbox: signed, retried, never lost.

Each decision adds an outbox row in the same transaction that records it. A dispatcher in every service
process leases due rows (an optimistic UPDATE, so two processes never send the same row at once), POSTs
them, and marks them delivered on a 2xx; otherwise it backs off exponentially. Delivery is at least once:
receivers should ignore a repeated ``X-Moderation-Delivery`` id.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta

from sqlalchemy import select, update

from ..store import Store, StoreUnavailable
from ..store.models import OutboxEvent, utcnow

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Moderation-Signature"
LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 3600


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix time>,sha256=<hex HMAC-SHA256 of "<t>." + body>``: the timestamp guards against replays."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},sha256={digest}"


def verify(secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    """Check a signature header as a receiver would (constant-time compare, bounded clock skew)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("sha256=", 1)[1]
    return hmac.compare_digest(expected, parts.get("sha256", ""))


def backoff(attempts: int) -> float:
    """Seconds to wait after ``attempts`` failures: 2, 4, 8 … capped at an hour, with 10% jitter."""
    return min(2 ** attempts, MAX_BACKOFF_SECONDS) * random.uniform(0.9, 1.1)


class Dispatcher:
    """Delivers due outbox events to one URL; ``run_once`` is the unit tests and the thread both use."""

    def __init__(self, store: Store, url: str, secret: str | None, timeout: float = 5.0, poll_seconds: float = 1.0):
        self.store = store
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _lease(self, limit: int) -> list[OutboxEvent]:
        now = utcnow()
        leased = []
        with self.store.session() as session:
            due = session.scalars(select(OutboxEvent).where(OutboxEvent.delivered_at.is_(None),
                                                            OutboxEvent.next_attempt_at <= now)
                                  .order_by(OutboxEvent.id).limit(limit)).all()
            for event in due:
                taken = session.execute(
                    update(OutboxEvent).where(OutboxEvent.id == event.id,
                                              OutboxEvent.next_attempt_at == event.next_attempt_at,
                                              OutboxEvent.delivered_at.is_(None))
                    .values(next_attempt_at=now + LEASE).execution_options(synchronize_session=False)).rowcount
                if taken:
                    leased.append(event)
        return leased

    def _post(self, event: OutboxEvent) -> None:
        body = json.dumps({"id": event.id, "type": event.event_type, "data": event.payload,
                           "created_at": event.created_at.isoformat()}, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "comment-moderation-webhook",
                   "X-Moderation-Event": event.event_type, "X-Moderation-Delivery": str(event.id)}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, int(time.time()), body)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
            if not 200 <= response.status < 300:
                raise urllib.error.HTTPError(self.url, response.status, "not 2xx", response.headers, None)

    def run_once(self, limit: int = 50) -> tuple[int, int]:
        """Try every due event once; returns (delivered, failed)."""
        delivered = failed = 0
        for event in self._lease(limit):
            try:
                self._post(event)
            except (OSError, urllib.error.URLError) as error:
                failed += 1
                attempts = event.attempts + 1
                with self.store.session() as session:
                    session.execute(update(OutboxEvent).where(OutboxEvent.id == event.id).values(
                        attempts=attempts, last_error=str(error)[:500],
                        next_attempt_at=utcnow() + timedelta(seconds=backoff(attempts))))
                log.warning("webhook delivery %s failed (attempt %d): %s", event.id, attempts, error)
                continue
            delivered += 1
            with self.store.session() as session:
                session.execute(update(OutboxEvent).where(OutboxEvent.id == event.id).values(
                    delivered_at=utcnow(), attempts=event.attempts + 1, last_error=None))
        return delivered, failed

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="webhook-dispatcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.run_once()
            except StoreUnavailable as error:
                log.warning("webhook dispatcher: store unavailable: %s", error)
            except Exception:  # the dispatcher must outlive any one bad round
                log.exception("webhook dispatcher round failed")

"""Login throttling for the review UI: failed logins are kept in the store, so every worker counts the same ones."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from sqlalchemy import delete, insert, select

from ..store import Store
from ..store.models import login_failures, utcnow

T = TypeVar("T")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)  # SQLite returns naive UTC


def locked_for(store: Store, username: str, address: str, max_failures: int, window: timedelta) -> float:
    """Seconds until ``username`` and ``address`` may try again: 0 unless either had ``max_failures`` in ``window``."""
    now = utcnow()
    wait = 0.0
    with store.session() as session:
        for column, value in ((login_failures.c.username, username[:100]), (login_failures.c.address, address[:64])):
            oldest_counted = session.scalar(
                select(login_failures.c.created_at).where(column == value, login_failures.c.created_at > now - window)
                .order_by(login_failures.c.created_at.desc()).offset(max_failures - 1).limit(1))
            if oldest_counted is not None:
                wait = max(wait, (_aware(oldest_counted) + window - now).total_seconds())
    return wait


def _record_failure(store: Store, username: str, address: str, window: timedelta) -> int:
    """Remember a failed login (and forget failures too old to count); returns its row id."""
    now = utcnow()
    with store.session() as session:
        failure_id = session.execute(insert(login_failures).values(
            username=username[:100], address=address[:64], created_at=now)).inserted_primary_key[0]
        session.execute(delete(login_failures).where(login_failures.c.created_at <= now - window))
    return failure_id


def _forget(store: Store, condition) -> None:
    with store.session() as session:
        session.execute(delete(login_failures).where(condition))


def attempt(store: Store, username: str, address: str, max_failures: int, window: timedelta,
            check: Callable[[], T | None]) -> tuple[T | None, float]:
    """Run ``check`` (a password check) unless the name or the address is locked out; count it unless it succeeds.

    The attempt is counted as failed before ``check`` runs, so guesses sent in parallel cannot all slip under the
    limit together; a successful check forgets the name's failures (the address keeps its count).

    Returns
    -------
    (result, wait) : tuple
        ``check()``'s result (None when it failed or did not run) and the seconds to wait when locked out (else 0).
    """
    wait = locked_for(store, username, address, max_failures, window)
    if wait:
        return None, wait
    failure_id = _record_failure(store, username, address, window)
    wait = locked_for(store, username, address, max_failures + 1, window)
    if wait:
        _forget(store, login_failures.c.id == failure_id)
        return None, wait
    result = check()
    if result is not None:
        _forget(store, login_failures.c.username == username[:100])
    return result, 0.0


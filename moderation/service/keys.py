"""API keys with scopes: created once and shown once, stored as SHA-256, looked up by a public prefix."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..errors import InvalidInput
from ..store import Store, StoreUnavailable
from ..store.models import ApiKey, utcnow

SCOPES = ("score", "review", "admin")
KEY_PREFIX = "mk_"
_CACHE_SECONDS = 5.0
_STALE_SECONDS = 600.0  # while the store is down, keys verified this recently keep working


class KeyError_(InvalidInput, ValueError):
    """A key operation named an unknown key or scope."""


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.id, row.name, row.prefix, tuple(row.scopes), row.created_at, row.revoked_at)


def validate_scopes(scopes) -> tuple[str, ...]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise KeyError_(f"scopes must be some of {', '.join(SCOPES)}" + (f" (unknown: {', '.join(unknown)})"
                                                                          if unknown else ""))
    return tuple(s for s in SCOPES if s in scopes)


def create(store: Store, name: str, scopes) -> tuple[str, KeyInfo]:
    """Create a key; returns the full key (shown once, never stored) and its record."""
    scopes = validate_scopes(scopes)
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with store.session() as session:
        row = ApiKey(name=name, prefix=prefix, secret_hash=_digest(secret), scopes=list(scopes))
        session.add(row)
        session.flush()
        info = _info(row)
    return f"{KEY_PREFIX}{prefix}_{secret}", info


def list_keys(store: Store) -> list[KeyInfo]:
    with store.session() as session:
        return [_info(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke(store: Store, key_id_or_prefix: str) -> KeyInfo:
    with store.session() as session:
        # A prefix first: a random prefix can be all digits (about 1 in 40), and then it is not an id.
        row = session.scalars(select(ApiKey).where(ApiKey.prefix == key_id_or_prefix)).first()
        if row is None and key_id_or_prefix.isdigit():
            row = session.get(ApiKey, int(key_id_or_prefix))
        if row is None:
            raise KeyError_(f"no API key {key_id_or_prefix!r}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        return _info(row)


class KeyVerifier:
    """Checks presented keys against the store, caching answers briefly so each request costs no query."""

    def __init__(self, store: Store, cache_seconds: float = _CACHE_SECONDS, stale_seconds: float = _STALE_SECONDS):
        self.store = store
        self.cache_seconds = cache_seconds
        self.stale_seconds = stale_seconds
        self._cache: dict[str, tuple[float, KeyInfo | None]] = {}
        self._lock = threading.Lock()

    def verify(self, presented: str) -> KeyInfo | None:
        """The key's record if ``presented`` is a valid, unrevoked key; otherwise None."""
        if not presented.startswith(KEY_PREFIX) or presented.count("_") < 2:
            return None
        prefix, _, secret = presented[len(KEY_PREFIX):].partition("_")
        digest = _digest(secret)
        now = time.monotonic()
        cached = self._cache.get(prefix + ":" + digest)
        if cached and now - cached[0] < self.cache_seconds:
            return cached[1]
        try:
            with self.store.session() as session:
                row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
                valid = row is not None and hmac.compare_digest(row.secret_hash, digest) and row.revoked_at is None
                info = _info(row) if valid else None
        except StoreUnavailable:
            if cached and now - cached[0] < self.stale_seconds:
                return cached[1]  # the store is down: scoring goes on for keys it knew a moment ago
            raise
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[prefix + ":" + digest] = (now, info)
        return info

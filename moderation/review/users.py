"""People who use the review UI: moderators and admins, with Argon2-hashed passwords.

Domain code only (no Flask): the web UI logs people in through :func:`authenticate`, the CLI manages them.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidInput
from ..store import Store
from ..store.models import User

MODERATOR, ADMIN = "moderator", "admin"
ROLES = (MODERATOR, ADMIN)
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
_NAME_RE = re.compile(r"[\w.@+-]{1,100}")

_hasher = PasswordHasher()
_decoys: dict[tuple, str] = {}  # a hash per parameter set, verified for unknown names


class UserError(InvalidInput, ValueError):
    """A user operation that cannot be done; the message says why in one line."""


class DuplicateUser(UserError):
    """A user with this name exists already."""


class UnknownUser(UserError):
    """No user has this name."""


class WeakPassword(UserError):
    """The password is too short (or absurdly long)."""


class InvalidUser(UserError):
    """The name or the role is not acceptable."""


@dataclass(frozen=True)
class UserInfo:
    """A user as the rest of the service sees it: never the password hash itself.

    ``stamp`` changes whenever the password does, so sessions opened before a password change can be refused.
    """

    id: int
    name: str
    role: str
    disabled: bool
    created_at: datetime
    stamp: str

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def _info(row: User) -> UserInfo:
    stamp = hashlib.sha256(row.password_hash.encode("utf-8")).hexdigest()[:16]
    return UserInfo(row.id, row.name, row.role, bool(row.disabled), row.created_at, stamp)


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise WeakPassword(f"the password must have at most {MAX_PASSWORD_CHARS} characters")
    return password


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidUser("a user name is 1 to 100 letters, digits or . _ @ + - (no spaces)")
    return name


def _row(session, name: str) -> User:
    row = session.scalars(select(User).where(User.name == name)).first()
    if row is None:
        raise UnknownUser(f"no user {name!r}")
    return row


def create(store: Store, name: str, password: str, role: str = MODERATOR) -> UserInfo:
    """Create a user; the password is stored only as an Argon2 hash."""
    _check_name(name)
    if role not in ROLES:
        raise InvalidUser(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    password_hash = _hasher.hash(_check_password(password))
    try:
        with store.session() as session:
            if session.scalars(select(User.id).where(User.name == name)).first() is not None:
                raise DuplicateUser(f"user {name!r} exists already")
            row = User(name=name, password_hash=password_hash, role=role, disabled=False)
            session.add(row)
            session.flush()
            return _info(row)
    except IntegrityError:
        raise DuplicateUser(f"user {name!r} exists already") from None


def get(store: Store, user_id: int) -> UserInfo | None:
    with store.session() as session:
        row = session.get(User, user_id)
        return _info(row) if row is not None else None


def list_users(store: Store) -> list[UserInfo]:
    with store.session() as session:
        return [_info(row) for row in session.scalars(select(User).order_by(User.name))]


def disable(store: Store, name: str) -> UserInfo:
    """Disable a user: they can no longer log in, and their open sessions end at their next request."""
    with store.session() as session:
        row = _row(session, name)
        row.disabled = True
        return _info(row)


def set_password(store: Store, name: str, password: str) -> UserInfo:
    """Replace a user's password; sessions opened with the old one end."""
    password_hash = _hasher.hash(_check_password(password))
    with store.session() as session:
        row = _row(session, name)
        row.password_hash = password_hash
        return _info(row)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(store: Store, name: str, password: str) -> UserInfo | None:
    """The user if ``name`` exists, is enabled and ``password`` is theirs; otherwise None.

    Unknown names cost one hash verification too, so response times do not reveal which names exist. A hash
    made with older Argon2 parameters is replaced by one made with the current parameters.
    """
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
        return None
    with store.session() as session:
        row = session.scalars(select(User).where(User.name == name)).first()
        if row is None:
            parameters = (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism)
            if parameters not in _decoys:
                _decoys[parameters] = _hasher.hash("not the password of anyone")
            _verify(_decoys[parameters], password)
            return None
        if not _verify(row.password_hash, password) or row.disabled:
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        return _info(row)

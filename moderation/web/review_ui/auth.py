"""Who is asking: the logged-in user from the session, the CSRF token, and the client's address behind proxies."""
from __future__ import annotations

import hmac
import secrets

from flask import current_app, g, request, session

from ...errors import Forbidden
from ...review import users

CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _forwarded(header: str) -> str | None:
    """The entry the nearest trusted proxy added to ``header``, when proxies are trusted."""
    trusted = int(current_app.config["REVIEW_TRUSTED_PROXIES"] or 0)
    values = [v.strip() for v in request.headers.get(header, "").split(",") if v.strip()]
    return values[-trusted] if trusted and len(values) >= trusted else None


def client_address() -> str:
    return _forwarded("X-Forwarded-For") or request.remote_addr or "unknown"


def request_is_tls() -> bool:
    return request.is_secure or (_forwarded("X-Forwarded-Proto") or "").lower() == "https"


def csrf_token() -> str:
    """This session's CSRF token, made on first use; every form and every fetch sends it back."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """Refuse a state-changing request whose form field or header does not carry the session's token."""
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8")):
        raise Forbidden("This form has expired or did not come from this site: reload the page and try again.",
                        title="CSRF check failed")


def load_user() -> None:
    """Set ``g.user`` from the session; a disabled user, or one whose password changed, is logged out."""
    g.user = None
    user_id = session.get("user_id")
    if user_id is None:
        return
    user = users.get(current_app.extensions["moderation.store"], user_id)
    if user is None or user.disabled or not hmac.compare_digest(user.stamp, session.get("stamp", "")):
        session.clear()
        return
    g.user = user


def log_in(user: users.UserInfo) -> None:
    """A fresh session for ``user`` (with a new CSRF token), valid for ``REVIEW_SESSION_HOURS``."""
    session.clear()
    session.permanent = True
    session.update(user_id=user.id, stamp=user.stamp, csrf=secrets.token_urlsafe(32))

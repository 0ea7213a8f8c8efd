"""The moderators' web UI: server-rendered queues, decisions, bulk actions and the audit trail, under ``/review``."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from ...settings import flag
from .auth import request_is_tls

SECRET_KEY_FILE = "secret_key"


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session for the review UI only, marked Secure when configured or over TLS.

    The API never uses a session, and opening one (a signing serialiser per request) costs about as much
    as the rest of the framework's work on a health check.
    """

    def open_session(self, app: Flask, request):
        if not request.path.startswith("/review"):
            return None  # Flask then gives the request a null session
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        configured = app.config["REVIEW_SECURE_COOKIES"]
        return request_is_tls() if configured is None else flag(configured)


def _persistent_secret_key(directory: Path) -> str:
    """The key in ``directory/secret_key``, made (mode 0600) by whichever worker gets there first."""
    path = directory / SECRET_KEY_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        draft = directory / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)  # atomic and never overwrites: concurrent workers all end up reading one key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise OSError(f"{path} is empty")
    return key


def init_app(app: Flask) -> None:
    """Session cookie settings, and a secret key shared by every worker.

    The key comes from ``SECRET_KEY`` (``MODERATION_SECRET_KEY``) or else from ``$MODERATION_HOME/secret_key``,
    generated on first start. If neither is possible the review UI answers 503 and the API runs as usual.
    """
    app.session_interface = _SessionInterface()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=float(app.config["REVIEW_SESSION_HOURS"])))
    if app.config.get("SECRET_KEY"):
        app.secret_key = str(app.config["SECRET_KEY"])
        return
    try:
        app.secret_key = _persistent_secret_key(Path(app.instance_path))
    except OSError as error:
        app.logger.warning("review UI disabled: no MODERATION_SECRET_KEY and cannot keep one in %s (%s)",
                           app.instance_path, error)

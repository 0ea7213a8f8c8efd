"""Reading requests: JSON bodies that fail clearly, and API keys with scopes."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import current_app, g, request

from ...errors import Forbidden, Problem, Unauthorized, Unavailable
from ...store import StoreUnavailable


def json_body():
    """The decoded JSON body; 415 for another content type, 400 for bytes that are not UTF-8 JSON."""
    if not request.is_json:
        raise Problem("Send the body as JSON with Content-Type: application/json.", status=415,
                      title="Unsupported media type", type="/problems/unsupported-media-type")
    raw = request.get_data(cache=True)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Problem(f"The body is not valid UTF-8 (byte {error.start}).", title="Invalid encoding",
                      type="/problems/invalid-encoding") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise Problem("The JSON body is nested too deeply.", title="Invalid JSON", type="/problems/invalid-json") from None
    except json.JSONDecodeError as error:
        raise Problem(f"The body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}.",
                      title="Invalid JSON", type="/problems/invalid-json") from None


def presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.headers.get("X-API-Key") or request.args.get("key")


@dataclass(frozen=True)
class KeyRefusals:
    """How a family of endpoints refuses a request's key: each builds the exception to raise."""

    missing: Callable[[], Exception]
    invalid: Callable[[], Exception]
    unreachable: Callable[[], Exception]
    lacking: Callable[[tuple[str, ...]], Exception]


PROBLEMS = KeyRefusals(
    missing=lambda: Unauthorized("This endpoint needs an API key: Authorization: Bearer KEY, X-API-Key, or ?key=KEY.",
                                 headers={"WWW-Authenticate": "Bearer"}),
    invalid=lambda: Unauthorized("The API key is not valid or has been revoked.", headers={"WWW-Authenticate": "Bearer"}),
    unreachable=lambda: Unavailable("The key store is unreachable; try again shortly.", headers={"Retry-After": "5"}),
    lacking=lambda scopes: Forbidden(f"This API key lacks the {' or '.join(map(repr, scopes))} scope."),
)


def require_scope(*scopes: str, refusals: KeyRefusals = PROBLEMS):
    """Decorator: the request must carry a valid, unrevoked API key with one of ``scopes`` (or ``admin``).

    ``refusals`` words the answer when it does not (problem+json by default; Perspective's routes answer
    in Google's envelope).
    """
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            key = presented_key()
            if not key:
                raise refusals.missing()
            try:
                info = current_app.extensions["moderation.keys"].verify(key)
            except StoreUnavailable:
                raise refusals.unreachable() from None
            if info is None:
                raise refusals.invalid()
            if not {*scopes, "admin"} & set(info.scopes):
                raise refusals.lacking(scopes)
            g.api_key = info
            return view(*args, **kwargs)
        wrapped.required_scopes = scopes
        return wrapped
    return decorator

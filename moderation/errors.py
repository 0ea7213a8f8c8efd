"""The service's own errors: each says what went wrong for a person and carries the HTTP status it answers with.

Domain code raises them without knowing about Flask: the web layer answers every one as
``application/problem+json`` (RFC 9457, :mod:`moderation.web.errors`), the CLI prints it as one line.
"""
from __future__ import annotations


class ModerationError(Exception):
    """Base of the service's errors: a message for a person, and the HTTP status, title and type it answers with."""

    status = 400
    title = "Bad request"
    type = "about:blank"

    def __init__(self, detail: str, *, field: str | None = None, status: int | None = None,
                 title: str | None = None, type: str | None = None, headers: dict | None = None, **extra):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.status = status or self.status
        self.title = title or self.title
        self.type = type or self.type
        self.headers = headers or {}
        self.extra = extra

    def body(self, request_id: str | None = None) -> dict:
        """The problem details: type, title, status, detail, and the field and request id when known."""
        body = {"type": self.type, "title": self.title, "status": self.status, "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        if request_id:
            body["request_id"] = request_id
        return {**body, **self.extra}


class Problem(ModerationError):
    """An error the web layer raises for an HTTP client to act on; the classes below name the common ones."""


class InvalidInput(Problem):
    status, title, type = 422, "Invalid input", "/problems/invalid-input"


class Unauthorized(Problem):
    status, title, type = 401, "Missing or invalid API key", "/problems/unauthorized"


class Forbidden(Problem):
    status, title, type = 403, "Not allowed", "/problems/forbidden"


class NotFound(Problem):
    status, title, type = 404, "Not found", "/problems/not-found"


class Conflict(Problem):
    status, title, type = 409, "Conflict", "/problems/conflict"


class Unavailable(Problem):
    status, title, type = 503, "Service unavailable", "/problems/unavailable"

"""One error path: domain errors carry their HTTP status and become ``application/problem+json``.

A part of the site for people (the review UI) registers an error page for its paths with :func:`error_pages`;
every error under them, Flask's own 404/405 and unexpected 500s included, is then answered by that page.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
ERROR_PAGES = "moderation.error_pages"


class Problem(Exception):
    """An error the client can act on (RFC 9457 problem details)."""

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

    def body(self) -> dict:
        body = {"type": self.type, "title": self.title, "status": self.status, "detail": self.detail}
        if self.field is not None:
            body["field"] = self.field
        request_id = g.get("request_id")
        if request_id:
            body["request_id"] = request_id
        return {**body, **self.extra}


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


def problem_response(problem: Problem):
    response = jsonify(problem.body())
    response.status_code = problem.status
    response.mimetype = PROBLEM_JSON
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def error_pages(app: Flask, prefix: str, render: Callable[[Problem], object]) -> None:
    """Answer every error of a request under ``prefix`` (a path such as ``/review``) with ``render(problem)``."""
    app.extensions.setdefault(ERROR_PAGES, {})[prefix.rstrip("/")] = render


def respond(problem: Problem):
    """The error page registered for the request's path, else ``application/problem+json``."""
    for prefix, render in current_app.extensions.get(ERROR_PAGES, {}).items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return render(problem)
    return problem_response(problem)


def init_app(app: Flask) -> None:
    @app.errorhandler(Problem)
    def handle_problem(problem: Problem):
        return respond(problem)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        headers = {"Allow": ", ".join(error.valid_methods)} if error.code == 405 and error.valid_methods else None
        return respond(Problem(error.description or error.name, status=error.code, title=error.name, headers=headers))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        current_app.logger.exception("unhandled error")
        return respond(Problem("The server failed to handle this request; it has been logged.",
                               status=500, title="Internal server error"))

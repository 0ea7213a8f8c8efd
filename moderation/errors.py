"""One error path: domain errors carry their HTTP status and become ``application/problem+json``."""
from __future__ import annotations

from flask import Flask, current_app, g, jsonify
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"


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


def init_app(app: Flask) -> None:
    @app.errorhandler(Problem)
    def handle_problem(problem: Problem):
        return problem_response(problem)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        problem = Problem(error.description or error.name, status=error.code, title=error.name)
        response = problem_response(problem)
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        current_app.logger.exception("unhandled error")
        return problem_response(Problem("The server failed to handle this request; it has been logged.",
                                        status=500, title="Internal server error"))

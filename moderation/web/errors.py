"""One error path: every error, Flask's own 404 and 405 included, answers as ``application/problem+json``.

A part of the site for people (the review UI) registers an error page for its paths with :func:`error_pages`;
every error under them, Flask's own 404/405 and unexpected 500s included, is then answered by that page.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.exceptions import HTTPException

from ..errors import ModerationError, Problem
from .api.schemas import Omittable, as_json

PROBLEM_JSON = "application/problem+json"
ERROR_PAGES = "moderation.error_pages"


class ProblemDetails(BaseModel):
    """An RFC 9457 problem: every error of the service's own API."""

    model_config = ConfigDict(extra="allow")  # what a kind of problem adds, e.g. a conflict's current_status

    type: str = Field(description="A URI reference naming the kind of problem.")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="What went wrong, for a person to read.")
    field: Omittable[str] = Field(None, description="The request field at fault, as a dotted path.")
    request_id: Omittable[str] = Field(None, description="The request's X-Request-ID.")


def problem_response(problem: ModerationError):
    response = jsonify(as_json(ProblemDetails(**problem.body(g.get("request_id")))))
    response.status_code = problem.status
    response.mimetype = PROBLEM_JSON
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def error_pages(app: Flask, prefix: str, render: Callable[[ModerationError], object]) -> None:
    """Answer every error of a request under ``prefix`` (a path such as ``/review``) with ``render(problem)``."""
    app.extensions.setdefault(ERROR_PAGES, {})[prefix.rstrip("/")] = render


def respond(problem: ModerationError):
    """The error page registered for the request's path, else ``application/problem+json``."""
    for prefix, render in current_app.extensions.get(ERROR_PAGES, {}).items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return render(problem)
    return problem_response(problem)


def init_app(app: Flask) -> None:
    @app.errorhandler(ModerationError)
    def handle_problem(problem: ModerationError):
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

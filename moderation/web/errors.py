"""One error path: every error, Flask's own 404 and 405 included, answers as ``application/problem+json``."""
from __future__ import annotations

from flask import Flask, current_app, g, jsonify
from werkzeug.exceptions import HTTPException

from ..errors import ModerationError, Problem

PROBLEM_JSON = "application/problem+json"


def problem_response(problem: ModerationError):
    response = jsonify(problem.body(g.get("request_id")))
    response.status_code = problem.status
    response.mimetype = PROBLEM_JSON
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(ModerationError)
    def handle_problem(problem: ModerationError):
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

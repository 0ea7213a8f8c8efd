"""``GET /v1/authors/{id}``: what the service has seen of a commenter, for moderators and the comment system."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify

from ...errors import InvalidInput
from ...review import authors
from .requests import require_scope
from .schemas import AuthorOut, as_json

bp = Blueprint("authors", __name__)


def author_json(history: authors.History, pending: list[str], pending_total: int) -> dict:
    return as_json(AuthorOut(
        id=history.author_id, known=history.known, **history.counts(),
        first_seen=history.first_seen.isoformat() if history.first_seen else None,
        last_seen=history.last_seen.isoformat() if history.last_seen else None,
        recent=[{**event, "at": event["at"].isoformat()} for event in history.recent],
        pending=pending, pending_total=pending_total))


@bp.get("/v1/authors/<path:author_id>")
@require_scope("review")
def get_author(author_id: str):
    """An author's counts, latest decisions and comments held for review."""
    if len(author_id) > 200:
        raise InvalidInput("Author ids are at most 200 characters.", field="id")
    store = current_app.extensions["moderation.store"]
    return jsonify(author_json(authors.history(store, author_id), *authors.pending_comments(store, author_id)))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

"""``/v1/wordlists/{name}``: the deployment's and articles' lists of words to reject or hold (admin scope)."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify

from ...errors import NotFound
from ...service import wordlists
from .requests import json_body, require_scope
from .schemas import WordListOut, as_json

bp = Blueprint("wordlists", __name__)


def _store():
    return current_app.extensions["moderation.store"]


def _json(record) -> dict:
    return as_json(WordListOut.model_validate(wordlists.as_json(record)))


@bp.put("/v1/wordlists/<name>")
@require_scope("admin")
def put_wordlist(name: str):
    """Create or replace a word list; a bad entry is a 422 naming it."""
    record, created = wordlists.put(_store(), name, wordlists.parse(json_body(), name))
    current_app.extensions["moderation.wordlists"].forget()  # other workers: within their cache's TTL
    return jsonify(_json(record)), 201 if created else 200


@bp.get("/v1/wordlists/<name>")
@require_scope("admin")
def get_wordlist(name: str):
    """A word list as stored."""
    record = wordlists.get(_store(), name)
    if record is None:
        raise NotFound(f"No word list {name!r}.")
    return jsonify(_json(record))


@bp.delete("/v1/wordlists/<name>")
@require_scope("admin")
def delete_wordlist(name: str):
    """Remove a word list."""
    if not wordlists.delete(_store(), name):
        raise NotFound(f"No word list {name!r}.")
    current_app.extensions["moderation.wordlists"].forget()
    return "", 204


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

"""Health endpoints (no key needed): liveness and readiness."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify

from .schemas import Health, Readiness, as_json

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify(as_json(Health(status="ok")))


@bp.get("/readyz")
def readyz():
    """Ready when a model is loaded and the database answers."""
    holder = current_app.extensions["moderation.model"]
    database = current_app.extensions["moderation.store"].ping()
    model = holder.scorer.version if holder.scorer else None
    ready = database and model is not None
    body = Readiness(status="ready" if ready else "not ready", model_version=model, database=database,
                     model_error=holder.error or None)
    return jsonify(as_json(body)), 200 if ready else 503


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

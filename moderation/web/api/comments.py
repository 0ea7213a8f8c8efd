"""``/v1/comments/{id}``: a stored comment's status and history, and decisions through the API."""
from __future__ import annotations

from contextlib import contextmanager

from flask import Blueprint, Flask, current_app, g, jsonify

from ...errors import InvalidInput, NotFound, Problem
from ...review import queue, reasons
from .requests import json_body, require_scope
from .schemas import AppealRequest, DecisionRequest, HistoryEntry, StoredComment, as_json, parse

bp = Blueprint("comments", __name__)


def comment_json(comment, history) -> dict:
    return as_json(StoredComment(
        id=comment.client_id, status=comment.status, automatic_decision=comment.automatic_decision,
        article_id=comment.article_id, parent_id=comment.parent_id, author_id=comment.author_id,
        scores=comment.scores, flags=comment.flags, reasons=comment.reasons, labels=comment.labels,
        rejection_reason=queue.rejection_reason(comment, current_app.config["REJECTION_REASONS"]),
        model_version=comment.model_version, version=comment.version, decided_by=comment.decided_by,
        decided_at=comment.decided_at.isoformat() if comment.decided_at else None,
        created_at=comment.created_at.isoformat(),
        appeal={k: v for k, v in comment.appeal.items() if k != "by"} if comment.appeal else None,
        history=[HistoryEntry(decision=h.decision, labels=h.labels, rejection_reason=h.rejection_reason, note=h.note,
                              actor=h.actor, outcome=h.outcome, at=h.created_at.isoformat()) for h in history]))


@contextmanager
def _as_problems():
    """The review domain's errors as problems: an unknown comment 404, bad input 422, a comment that cannot be
    appealed or a decision that lost a race 409 (with where the comment stands now)."""
    try:
        yield
    except queue.NotAppealable as error:
        raise Problem(str(error), status=409, title="Conflict", type="/problems/not-appealable",
                      current_status=error.current_status, version=error.version) from None
    except queue.ReviewError as error:
        raise (NotFound(str(error)) if error.status == 404 else InvalidInput(str(error), field=error.field)) from None
    except queue.Conflict as conflict:
        raise Problem(str(conflict), status=409, title="Conflict", type="/problems/conflict",
                      current_status=conflict.comment.status, version=conflict.comment.version) from None


@bp.get("/v1/comments/<path:comment_id>")
@require_scope("score")
def get_comment(comment_id: str):
    """Current status and decision history of a stored comment."""
    with _as_problems():
        return jsonify(comment_json(*queue.get(current_app.extensions["moderation.store"], comment_id)))


@bp.post("/v1/comments/<path:comment_id>/decision")
@require_scope("review")
def decide(comment_id: str):
    """Approve or reject a stored comment, optionally correcting its labels and giving a rejection's reason code;
    same audit trail as the UI."""
    body = parse(DecisionRequest, json_body())
    store = current_app.extensions["moderation.store"]
    scorer = current_app.extensions["moderation.model"].scorer
    with _as_problems():
        labels = queue.validate_labels(body.labels, scorer.labels if scorer else [])
        reason = reasons.validate(body.reason, current_app.config["REJECTION_REASONS"])
        if reason is not None and body.decision == "approve":
            raise InvalidInput("An approval takes no rejection reason.", field="reason")
        comment = queue.decide(store, comment_id, body.decision, f"key:{g.api_key.id}", labels, body.note,
                               body.version, subscribed=current_app.config["WEBHOOK_EVENTS"], reason=reason,
                               codes=current_app.config["REJECTION_REASONS"])
    return jsonify(comment_json(*queue.get(store, comment.client_id)))


@bp.post("/v1/comments/<path:comment_id>/appeal")
@require_scope("score")
def appeal(comment_id: str):
    """Put a rejected comment back in front of moderators (the appeals queue), with its author's words."""
    body = parse(AppealRequest, json_body())
    store = current_app.extensions["moderation.store"]
    with _as_problems():
        comment = queue.appeal(store, comment_id, body.text, f"key:{g.api_key.id}",
                               current_app.config["WEBHOOK_EVENTS"])
    return jsonify(comment_json(*queue.get(store, comment.client_id)))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

"""``/v1/comments/{id}``: a stored comment's status and history, and decisions through the API."""
from __future__ import annotations

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


def _review_error(error: queue.ReviewError):
    if error.status == 404:
        return NotFound(str(error))
    return InvalidInput(str(error), field=error.field)


@bp.get("/v1/comments/<path:comment_id>")
@require_scope("score")
def get_comment(comment_id: str):
    """Current status and decision history of a stored comment."""
    try:
        return jsonify(comment_json(*queue.get(current_app.extensions["moderation.store"], comment_id)))
    except queue.ReviewError as error:
        raise _review_error(error) from None


@bp.post("/v1/comments/<path:comment_id>/decision")
@require_scope("review")
def decide(comment_id: str):
    """Approve or reject a stored comment, optionally correcting its labels and giving a rejection's reason code;
    same audit trail as the UI."""
    body = parse(DecisionRequest, json_body())
    store = current_app.extensions["moderation.store"]
    scorer = current_app.extensions["moderation.model"].scorer
    try:
        labels = queue.validate_labels(body.labels, scorer.labels if scorer else [])
        reason = reasons.validate(body.reason, current_app.config["REJECTION_REASONS"])
        if reason is not None and body.decision == "approve":
            raise InvalidInput("An approval takes no rejection reason.", field="reason")
        comment = queue.decide(store, comment_id, body.decision, f"key:{g.api_key.id}", labels, body.note,
                               body.version, subscribed=current_app.config["WEBHOOK_EVENTS"], reason=reason,
                               codes=current_app.config["REJECTION_REASONS"])
    except queue.ReviewError as error:
        raise _review_error(error) from None
    except queue.Conflict as conflict:
        raise Problem(str(conflict), status=409, title="Conflict", type="/problems/conflict",
                      current_status=conflict.comment.status, version=conflict.comment.version) from None
    return jsonify(comment_json(*queue.get(store, comment.client_id)))


@bp.post("/v1/comments/<path:comment_id>/appeal")
@require_scope("score")
def appeal(comment_id: str):
    """Put a rejected comment back in front of moderators (the appeals queue), with its author's words."""
    body = parse(AppealRequest, json_body())
    store = current_app.extensions["moderation.store"]
    try:
        comment = queue.appeal(store, comment_id, body.text, f"key:{g.api_key.id}",
                               current_app.config["WEBHOOK_EVENTS"])
    except queue.NotAppealable as error:
        raise Problem(str(error), status=409, title="Conflict", type="/problems/not-appealable",
                      current_status=error.current_status, version=error.version) from None
    except queue.ReviewError as error:
        raise _review_error(error) from None
    except queue.Conflict as conflict:
        raise Problem(str(conflict), status=409, title="Conflict", type="/problems/conflict",
                      current_status=conflict.comment.status, version=conflict.comment.version) from None
    return jsonify(comment_json(*queue.get(store, comment.client_id)))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

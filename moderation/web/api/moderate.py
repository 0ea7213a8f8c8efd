"""``POST /v1/moderate``: scores, flags, a decision, reasons and explaining spans for each comment."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, g, jsonify

from ...errors import InvalidInput
from ...runtime.policy import PolicyError
from ...service.moderate import Incoming, Moderation, Outcome
from .requests import json_body, require_scope
from .schemas import ModerateRequest, ModerateResponse, ModerationResult, as_json, parse

bp = Blueprint("moderate", __name__)


def moderation() -> Moderation:
    return current_app.extensions["moderation.service"]


def incoming_from(request: ModerateRequest) -> list[Incoming]:
    """The request's comments as :class:`Incoming`, checked against the configured limits."""
    comments = request.comments if request.comments is not None else ([request.comment] if request.comment else [])
    if request.comments is not None and request.comment is not None:
        raise InvalidInput("Send either 'comments' (a list) or 'comment' (one object), not both.", field="comment")
    if not comments:
        raise InvalidInput("No comments: send 'comments' (a non-empty list) or 'comment'.", field="comments")
    limit = current_app.config["MAX_BATCH"]
    if len(comments) > limit:
        raise InvalidInput(f"{len(comments)} comments in one request; the limit is {limit}.", field="comments")
    max_chars = current_app.config["MAX_TEXT_CHARS"]
    seen = set()
    for i, comment in enumerate(comments):
        if len(comment.text) > max_chars:
            raise InvalidInput(f"comments.{i}.text: {len(comment.text)} characters, over the limit of {max_chars}.",
                               field=f"comments.{i}.text")
        if str(comment.id) in seen:
            raise InvalidInput(f"comments.{i}.id: {comment.id!r} appears twice in this batch.", field=f"comments.{i}.id")
        seen.add(str(comment.id))
    article = request.article
    if article is not None and article.policy:
        scorer = moderation().scorer()
        try:
            scorer.policy.with_overrides(article.policy)
        except PolicyError as error:
            raise InvalidInput(f"article.policy: {error}", field="article.policy") from None
    text = "\n".join(p for p in (article.title, article.body) if p) or None if article else None
    return [Incoming(id=c.id, text=c.text, article_id=_article_id(c, article),
                     parent_id=None if c.parent_id is None else str(c.parent_id),
                     author_id=None if c.author_id is None else str(c.author_id),
                     article=text, article_policy=article.policy if article else None,
                     article_author_policy=article.author_policy.model_dump(exclude_unset=True)
                     if article and article.author_policy else None)
            for c in comments]


def _article_id(comment, article) -> str | None:
    """The comment's own article id, else the id of the article sent with the batch."""
    value = comment.article_id if comment.article_id is not None else (article.id if article else None)
    return None if value is None else str(value)


@bp.post("/v1/moderate")
@require_scope("score")
def moderate():
    """Moderate one comment or a batch."""
    request = parse(ModerateRequest, json_body())
    version, outcomes = moderation().moderate(incoming_from(request), explain=request.explain,
                                              remember=request.remember,
                                              store=current_app.config["STORE_COMMENTS"])
    g.moderation_outcomes = outcomes  # counted by the metrics hook
    return jsonify(as_json(ModerateResponse(model_version=version, results=[result(o) for o in outcomes])))


def result(outcome: Outcome) -> ModerationResult:
    """One comment's result: the same fields, and for a retry the same values, as when it was first moderated."""
    return ModerationResult(id=outcome.id, **outcome.result.as_dict(), language=outcome.language or None,
                            warnings=outcome.warnings, stored=outcome.stored, model_version=outcome.model_version)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

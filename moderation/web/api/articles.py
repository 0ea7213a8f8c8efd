"""``PUT``/``GET /v1/articles/{id}``: the articles comments are compared with, and their policies."""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify

from ...errors import InvalidInput, NotFound
from ...model.comment import article_text
from ...runtime.policy import Policy, PolicyError
from ...store.models import Article
from .requests import json_body, require_scope
from .schemas import ArticleIn, ArticleOut, as_json, parse

bp = Blueprint("articles", __name__)


def _as_json(article: Article) -> dict:
    return as_json(ArticleOut(id=article.id, title=article.title, body=article.body, url=article.url,
                              policy=article.policy, author_policy=article.author_policy,
                              updated_at=article.updated_at.isoformat()))


@bp.put("/v1/articles/<path:article_id>")
@require_scope("score")
def put_article(article_id: str):
    """Create or replace an article (title, body, url, optional policy overrides)."""
    if len(article_id) > 200:
        raise InvalidInput("Article ids are at most 200 characters.", field="id")
    article = parse(ArticleIn, json_body())
    if article.id is not None and str(article.id) != article_id:
        raise InvalidInput("The body's id differs from the id in the URL.", field="id")
    scorer = current_app.extensions["moderation.model"].scorer
    if article.policy and scorer is not None:
        try:
            Policy.from_model(scorer.policy.thresholds, article.policy)
        except PolicyError as error:
            raise InvalidInput(str(error), field="policy") from None
    with current_app.extensions["moderation.store"].session() as session:
        record = session.get(Article, article_id)
        created = record is None
        if created:
            record = Article(id=article_id)
            session.add(record)
        record.title, record.body, record.url, record.policy = article.title, article.body, article.url, article.policy
        record.author_policy = article.author_policy.model_dump(exclude_unset=True) if article.author_policy else None
        session.flush()
        body = _as_json(record)
    current_app.extensions["moderation.articles"].forget(article_id)  # other workers: within their cache's TTL
    if scorer is not None:  # this worker encodes the article now; another does at its first comment under it
        scorer.prepare_article(article_text(article.title, article.body))
    return jsonify(body), 201 if created else 200


@bp.get("/v1/articles/<path:article_id>")
@require_scope("score")
def get_article(article_id: str):
    """An article as stored."""
    with current_app.extensions["moderation.store"].session() as session:
        record = session.get(Article, article_id)
        if record is None:
            raise NotFound(f"No article {article_id!r}.")
        return jsonify(_as_json(record))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

"""Moderating a batch: gather each comment's context, detect its language, score, decide, remember it.

This module knows the store and the model but not Flask; the API blueprints call it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .articles import article_text
from .errors import Unavailable
from .features import MAX_THREAD, Comment
from .policy import APPROVE, unsupported_language
from .review import queue
from .scoring import Result, Scorer
from .serving import ModelHolder
from .store import Store, StoreUnavailable
from . import threads

log = logging.getLogger(__name__)
NONE, HELD, ALL = "none", "held", "all"


@dataclass
class Incoming:
    """One comment to moderate, with whatever context its sender gave."""

    id: str | int
    text: str
    article_id: str | None = None
    parent_id: str | None = None
    article: str | None = None  # article text sent with the request
    article_policy: dict | None = None
    author_id: str | None = None


@dataclass
class Outcome:
    id: str | int
    result: Result
    language: str | None = None
    context: dict = field(default_factory=dict)
    stored: bool = False  # answered from the store: the same comment id was moderated before
    model_version: str | None = None


class Moderation:
    """Moderates batches of comments against the served model, the store's articles and thread memory."""

    def __init__(self, holder: ModelHolder, store: Store, language=None, thread_memory: int = MAX_THREAD):
        self.holder = holder
        self.store = store
        self.language = language
        self.thread_memory = min(thread_memory, MAX_THREAD)

    def scorer(self) -> Scorer:
        scorer = self.holder.scorer
        if scorer is None:
            raise Unavailable(f"No model is loaded ({self.holder.error}).", headers={"Retry-After": "10"})
        return scorer

    def moderate(self, incoming: list[Incoming], explain: bool = True, remember: bool = True,
                 store: str = NONE, scorer: Scorer | None = None) -> tuple[str, list[Outcome]]:
        """Score and decide every comment; returns the model version used and one outcome per comment.

        ``store`` says which comments to keep for review: ``"held"`` (review and reject), ``"all"`` or
        ``"none"``. A comment stored earlier under the same id is answered from the store, never duplicated;
        when a comment must be stored and the store is down, nothing is acknowledged (503).
        """
        scorer = scorer or self.scorer()
        stored = self._already_stored(incoming) if store != NONE else {}
        contexts = self._contexts(incoming)
        outcomes: list[Outcome | None] = [None] * len(incoming)
        to_score, comments, policies = [], [], []
        for i, (item, comment) in enumerate(zip(incoming, contexts)):
            previous = stored.get(str(item.id))
            if previous is not None:
                outcomes[i] = Outcome(item.id, Result.from_dict(queue.stored_result(previous)), previous.language,
                                      stored=True, model_version=previous.model_version)
                continue
            language = self.language.unsupported(item.text) if self.language else None
            if language:
                outcomes[i] = Outcome(item.id, Result({}, unsupported_language(language)), language)
                continue
            to_score.append(i)
            comments.append(comment)
            policies.append(scorer.policy.with_overrides(item.article_policy))
        for i, result in zip(to_score, scorer.moderate(comments, policies, explain=explain)):
            c = contexts[i]
            outcomes[i] = Outcome(incoming[i].id, result, context={
                "article": c.article is not None, "thread": len(c.thread), "parent": c.parent is not None})
        fresh = [(item, outcome) for item, outcome in zip(incoming, outcomes) if not outcome.stored]
        if store != NONE:
            self._store([(i, o) for i, o in fresh if store == ALL or o.result.decision.decision != APPROVE],
                        scorer.version)
        if remember:
            self._remember([item for item, _ in fresh])
        return scorer.version, outcomes

    def _already_stored(self, incoming: list[Incoming]) -> dict:
        try:
            return queue.existing(self.store, [str(item.id) for item in incoming])
        except StoreUnavailable as error:
            log.warning("store unavailable while checking for retried comments: %s", error)
            return {}

    def _store(self, pairs: list[tuple[Incoming, Outcome]], version: str) -> None:
        items = [queue.ToStore(str(item.id), item.text, item.article_id, item.parent_id, item.author_id,
                               outcome.result.as_dict(), outcome.language, version) for item, outcome in pairs]
        try:
            queue.save(self.store, items)
        except StoreUnavailable as error:
            log.error("store unavailable: %d comments that must be kept were not acknowledged: %s", len(items), error)
            raise Unavailable("The review store is unreachable, so held comments cannot be kept; nothing was "
                              "acknowledged. Retry shortly.", headers={"Retry-After": "5"}) from None

    def _contexts(self, incoming: list[Incoming]) -> list[Comment]:
        """Each comment's article text, parent text and earlier thread (earlier ones in the batch included)."""
        articles: dict[str, tuple[str | None, dict | None]] = {}
        thread_cache: dict[str, list[tuple[str, str]]] = {}
        texts_by_id = {str(item.id): item.text for item in incoming}
        comments = []
        for item in incoming:
            article, policy = item.article, item.article_policy
            thread: list[tuple[str, str]] = []
            if item.article_id is not None:
                key = str(item.article_id)
                if key not in articles:
                    articles[key] = self._stored_article(key)
                    thread_cache[key] = self._stored_thread(key)
                stored_text, stored_policy = articles[key]
                article = article or stored_text
                item.article_policy = policy = policy if policy is not None else stored_policy
                thread = thread_cache[key]
            parent = None
            if item.parent_id is not None:
                parent = texts_by_id.get(str(item.parent_id)) or self._stored_parent(str(item.parent_id))
            comments.append(Comment(item.text, article, tuple(t for _, t in thread[-self.thread_memory:]), parent))
            if item.article_id is not None:
                thread_cache[str(item.article_id)] = thread + [(str(item.id), item.text)]
        return comments

    def _stored_article(self, article_id: str) -> tuple[str | None, dict | None]:
        try:
            record = threads.article_record(self.store, article_id)
        except StoreUnavailable as error:
            log.warning("store unavailable, scoring without the article: %s", error)
            return None, None
        if record is None:
            return None, None
        return article_text(record.title, record.body), record.policy

    def _stored_thread(self, article_id: str) -> list[tuple[str, str]]:
        try:
            return threads.recent(self.store, article_id, self.thread_memory)
        except StoreUnavailable as error:
            log.warning("store unavailable, scoring without the thread: %s", error)
            return []

    def _stored_parent(self, comment_id: str) -> str | None:
        try:
            return threads.parent_text(self.store, comment_id)
        except StoreUnavailable:
            return None

    def _remember(self, incoming: list[Incoming]) -> None:
        entries = [(str(i.article_id), str(i.id), i.text) for i in incoming if i.article_id is not None]
        try:
            threads.remember(self.store, entries, self.thread_memory)
        except StoreUnavailable as error:
            log.warning("store unavailable, %d comments not remembered as thread context: %s", len(entries), error)

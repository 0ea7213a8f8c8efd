"""Moderating a batch: gather each comment's context, detect its language, score, decide, remember it.

This module knows the store and the model but not Flask; the API blueprints call it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .articles import ArticleCache
from ..errors import Unavailable
from ..model.comment import MAX_THREAD, Comment
from ..runtime.policy import APPROVE, PolicyError, unsupported_language
from ..review import queue
from ..runtime.scorer import Result, Scorer
from ..runtime.holder import ModelHolder
from ..store import Store, StoreUnavailable
from .threads import ThreadMemory

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

    def __init__(self, holder: ModelHolder, store: Store, language=None, thread_memory: ThreadMemory | None = None,
                 articles: ArticleCache | None = None):
        self.holder = holder
        self.store = store
        self.language = language
        self.thread_memory = thread_memory or ThreadMemory(store, MAX_THREAD)
        self.articles = articles or ArticleCache(store)

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
        when a comment must be stored and the store is down, nothing is acknowledged (503). Comments with an
        article join its thread memory (``remember``), written to the store behind the answer.
        """
        scorer = scorer or self.scorer()
        known = self._read(incoming, check_stored=store != NONE)
        contexts = self._contexts(incoming, known)
        outcomes: list[Outcome | None] = [None] * len(incoming)
        to_score, comments, policies = [], [], []
        for i, (item, comment) in enumerate(zip(incoming, contexts)):
            previous = known.stored.get(str(item.id))
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
            policies.append(self._policy(scorer, item))
        for i, result in zip(to_score, scorer.moderate(comments, policies, explain=explain)):
            c = contexts[i]
            outcomes[i] = Outcome(incoming[i].id, result, context={
                "article": c.article is not None, "thread": len(c.thread), "parent": c.parent is not None})
        fresh = [(item, outcome) for item, outcome in zip(incoming, outcomes) if not outcome.stored]
        keep = [(i, o) for i, o in fresh if store == ALL or (store == HELD and o.result.decision.decision != APPROVE)]
        self._write([queue.ToStore(str(item.id), item.text, item.article_id, item.parent_id, item.author_id,
                                   outcome.result.as_dict(), outcome.language, scorer.version)
                     for item, outcome in keep],
                    [(str(i.article_id), str(i.id), i.text) for i, _ in fresh if i.article_id is not None]
                    if remember else [])
        return scorer.version, outcomes

    @staticmethod
    def _policy(scorer: Scorer, item: Incoming):
        """The article's policy; one stored for an older model may name labels this one lacks, or hold on labels
        that do not decide in this one: those parts are skipped."""
        try:
            return scorer.policy.with_overrides(item.article_policy)
        except PolicyError as error:
            log.warning("article %s: policy partly ignored (%s)", item.article_id, error)
            try:
                return scorer.policy.with_overrides(scorer.policy.applicable(item.article_policy))
            except PolicyError:
                return scorer.policy

    def _read(self, incoming: list[Incoming], check_stored: bool) -> "_Known":
        """Stored comments, articles, threads and parents the batch refers to.

        Articles and threads come from per-process caches (:class:`ArticleCache`, :class:`ThreadMemory`);
        only the stored-comment check goes to the database on every request.
        """
        known = _Known()
        article_ids = sorted({str(i.article_id) for i in incoming if i.article_id is not None})
        in_batch = {str(i.id) for i in incoming}
        parents = [(str(i.article_id) if i.article_id is not None else None, str(i.parent_id))
                   for i in incoming if i.parent_id is not None and str(i.parent_id) not in in_batch]
        if check_stored:
            try:
                known.stored = queue.existing(self.store, [str(i.id) for i in incoming])
            except StoreUnavailable as error:  # held ones will not be acknowledged either
                log.warning("store unavailable, stored comments not looked up: %s", error)
        if article_ids:
            try:
                known.articles = self.articles.get_many(article_ids)
            except StoreUnavailable as error:
                log.warning("store unavailable, scoring without stored articles: %s", error)
        if article_ids:
            known.threads = self.thread_memory.threads(article_ids)
        if parents:
            known.parents = self.thread_memory.parents([a for a, _ in parents], [p for _, p in parents])
        return known

    def _contexts(self, incoming: list[Incoming], known: "_Known") -> list[Comment]:
        """Each comment's article text, parent text and earlier thread (earlier ones in the batch included)."""
        thread_so_far = {article_id: list(entries) for article_id, entries in known.threads.items()}
        texts_by_id = {str(item.id): item.text for item in incoming}
        comments = []
        for item in incoming:
            article, thread = item.article, []
            if item.article_id is not None:
                key = str(item.article_id)
                stored_text, stored_policy = known.articles.get(key, (None, None))
                article = article or stored_text
                if item.article_policy is None:
                    item.article_policy = stored_policy
                thread = thread_so_far.setdefault(key, [])
            parent = None
            if item.parent_id is not None:
                parent = texts_by_id.get(str(item.parent_id)) or known.parents.get(str(item.parent_id))
            earlier = tuple(t for c, t in thread if c != str(item.id))  # a retried comment is not its own context
            comments.append(Comment(item.text, article, earlier[-self.thread_memory.keep:], parent))
            if item.article_id is not None:
                thread.append((str(item.id), item.text))
        return comments

    def _write(self, to_store: list[queue.ToStore], to_remember: list[tuple[str, str, str]]) -> None:
        """Keep held comments before answering (mandatory), and remember the thread behind the answer."""
        if to_store:
            try:
                queue.save(self.store, to_store)
            except StoreUnavailable as error:
                log.error("store unavailable: %d comments that must be kept were not acknowledged: %s",
                          len(to_store), error)
                raise Unavailable("The review store is unreachable, so held comments cannot be kept; nothing "
                                  "was acknowledged. Retry shortly.", headers={"Retry-After": "5"}) from None
        try:
            self.thread_memory.remember(to_remember)
        except StoreUnavailable as error:  # only when written synchronously (flush_seconds = 0)
            log.warning("store unavailable, %d comments not remembered as thread context: %s", len(to_remember), error)


@dataclass
class _Known:
    """What the store knew about a batch before scoring it."""

    stored: dict = field(default_factory=dict)
    articles: dict = field(default_factory=dict)  # article id -> (text, policy)
    threads: dict = field(default_factory=dict)  # article id -> [(comment id, text)]
    parents: dict = field(default_factory=dict)  # comment id -> text

"""Moderating a batch: gather each comment's context, detect its language, score, decide, remember it.

This module knows the store and the model but not Flask; the API blueprints call it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from ..errors import Conflict, Unavailable
from ..model.comment import MAX_THREAD, Comment, ThreadContext
from ..review import authors as author_store, queue
from ..review.retention import is_purged
from ..runtime.holder import ModelHolder
from ..runtime.policy import APPROVE, PolicyError, unsupported_language
from ..runtime.scorer import Result, Scorer
from ..store import Store, StoreUnavailable
from . import authors, wordlists
from .articles import ArticleCache
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
    article_author_policy: dict | None = None  # sent with the request; else the stored article's


@dataclass
class Outcome:
    id: str | int
    result: Result
    language: str | None = None
    model_version: str | None = None  # the model that scored it (an earlier one when replayed)
    warnings: list[str] = field(default_factory=list)  # what the client should know about how it was scored
    stored: bool = False  # kept in the review store, now or by an earlier request
    replayed: bool = False  # answered from the store: the same comment was moderated before
    missing_article: str | None = None  # why a comment naming an article was scored without it (a metric label)


class Moderation:
    """Moderates batches of comments against the served model, the store's articles and thread memory."""

    def __init__(self, holder: ModelHolder, store: Store, language=None, thread_memory: ThreadMemory | None = None,
                 articles: ArticleCache | None = None, author_policy: dict | None = None,
                 wordlist_cache: wordlists.WordListCache | None = None, subscribed: frozenset[str] = frozenset()):
        self.holder = holder
        self.store = store
        self.language = language
        self.thread_memory = thread_memory or ThreadMemory(store, MAX_THREAD)
        self.articles = articles or ArticleCache(store)
        self.author_policy = authors.AuthorPolicy.parse(author_policy, "AUTHOR_POLICY").model_dump(
            exclude_defaults=True) if author_policy else None
        self.wordlists = wordlist_cache or wordlists.WordListCache(store, self.articles.ttl_seconds)
        self.subscribed = subscribed  # the webhook's events: comment.held is written with the held comments

    def scorer(self) -> Scorer:
        scorer = self.holder.scorer
        if scorer is None:
            raise Unavailable(f"No model is loaded ({self.holder.error}).", headers={"Retry-After": "10"})
        return scorer

    def moderate(self, incoming: list[Incoming], explain: bool = True, remember: bool = True,
                 store: str = NONE, scorer: Scorer | None = None) -> tuple[str, list[Outcome]]:
        """Score and decide every comment; returns the model version used and one outcome per comment.

        ``store`` says which comments to keep for review: ``"held"`` (review and reject), ``"all"`` or
        ``"none"``. A comment stored earlier under the same id and text is answered from the store with the
        answer it got then, never duplicated; under the same id with other text it is a 409 (nothing is
        scored). When a comment must be stored and the store is down, nothing is acknowledged (503). Comments
        with an article join its thread memory (``remember``), written to the store behind the answer. A
        comment naming an article the service cannot use is scored without it and says so in ``warnings``.
        """
        scorer = scorer or self.scorer()
        known = self._read(incoming, check_stored=store != NONE)
        _refuse_reused_ids(incoming, known.stored)
        contexts = self._contexts(incoming, known)
        outcomes: list[Outcome | None] = [None] * len(incoming)
        to_decide = []
        for i, item in enumerate(incoming):
            previous = known.stored.get(str(item.id))
            if previous is None:
                to_decide.append(i)
                continue
            outcomes[i] = Outcome(item.id, Result.from_dict(queue.stored_result(previous)), previous.language,
                                  model_version=previous.model_version, warnings=list(previous.warnings or []),
                                  stored=True, replayed=True)
        decided = self._decide([incoming[i] for i in to_decide], [contexts[i] for i in to_decide], known, scorer,
                               explain)
        for i, outcome in zip(to_decide, decided):
            outcomes[i] = outcome
        fresh = [(item, outcome) for item, outcome in zip(incoming, outcomes) if not outcome.replayed]
        keep = [(i, o) for i, o in fresh if store == ALL or (store == HELD and o.result.decision.decision != APPROVE)]
        self._write([queue.ToStore(str(item.id), item.text, item.article_id, item.parent_id, item.author_id,
                                   outcome.result.as_dict(), outcome.language, scorer.version, outcome.warnings)
                     for item, outcome in keep],
                    [(str(i.article_id), str(i.id), i.text) for i, _ in fresh if i.article_id is not None]
                    if remember else [],
                    [author_store.Scored(item.author_id, str(item.id), outcome.result.decision.decision)
                     for item, outcome in fresh if item.author_id is not None])
        for _, outcome in keep:
            outcome.stored = True
        return scorer.version, outcomes

    def rescore(self, incoming: list[Incoming], scorer: Scorer, explain: bool = True) -> list[Outcome]:
        """Score and decide stored comments again as :meth:`moderate` would now, in the context the service holds
        now (the comment itself left out of its thread); nothing is stored, remembered or counted."""
        known = self._read(incoming, check_stored=False)
        return self._decide(incoming, self._contexts(incoming, known, each_alone=True), known, scorer, explain)

    def _decide(self, incoming: list[Incoming], contexts: list[Comment], known: "_Known", scorer: Scorer,
                explain: bool) -> list[Outcome]:
        """Language, scores, the article's policy, author rules and word lists: one outcome per comment."""
        outcomes: list[Outcome | None] = [None] * len(incoming)
        to_score, comments, policies = [], [], []
        for i, (item, comment) in enumerate(zip(incoming, contexts)):
            language = self.language.unsupported(item.text) if self.language else None
            if language:
                outcomes[i] = Outcome(item.id, Result({}, unsupported_language(language)), language,
                                      model_version=scorer.version)
                continue
            to_score.append(i)
            comments.append(comment)
            policies.append(self._policy(scorer, item))
        results = scorer.moderate(comments, policies, explain=explain)
        self._apply_rules([incoming[i] for i in to_score], results, policies, known)
        for i, result in zip(to_score, results):
            missing, warning = _missing_article(incoming[i], contexts[i], known)
            outcomes[i] = Outcome(incoming[i].id, result, model_version=scorer.version,
                                  warnings=[warning] if warning else [], missing_article=missing)
        return outcomes

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

    def _apply_rules(self, incoming: list[Incoming], results: list[Result], policies: list, known: "_Known") -> None:
        """Author rules, then word lists, on the model's decisions (in place)."""
        rules = [authors.merged(self.author_policy, item.article_author_policy
                                if item.article_author_policy is not None
                                else known.articles.get(str(item.article_id), (None,) * 3)[2])
                 if item.author_id is not None else authors.OFF for item in incoming]
        wanted = sorted({item.author_id for item, r in zip(incoming, rules) if r.active})
        histories = {}
        if wanted:
            try:
                histories = author_store.for_rules(self.store, wanted, max(r.window for r in rules if r.active))
            except StoreUnavailable as error:  # as a newcomer's: held comments are not acknowledged either
                log.warning("store unavailable, authors' histories not read: %s", error)
        try:
            matcher = self.wordlists.matcher()
        except StoreUnavailable as error:
            log.warning("store unavailable, word lists not re-read: %s", error)
            matcher = self.wordlists.last
        for item, result, rule, policy in zip(incoming, results, rules, policies):
            if rule.active:
                history = histories.get(item.author_id) or author_store.History(item.author_id)
                result.decision = authors.decide(rule, history, result.decision, result.scores, policy)
            matches = matcher.find(item.text, None if item.article_id is None else str(item.article_id))
            result.decision = wordlists.decide(result.decision, matches)

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
                known.articles_unreadable = True
                log.warning("store unavailable, scoring without stored articles: %s", error)
        if article_ids:
            known.threads = self.thread_memory.threads(article_ids)
        if parents:
            known.parents = self.thread_memory.parents([a for a, _ in parents], [p for _, p in parents])
        return known

    def _contexts(self, incoming: list[Incoming], known: "_Known", each_alone: bool = False) -> list[Comment]:
        """Each comment's article text, parent text and earlier thread (earlier ones in the batch included, unless
        ``each_alone``: stored comments scored again get the remembered thread whatever batch they are in)."""
        texts = {**known.parents, **{str(item.id): item.text for item in incoming}}
        shared = ThreadContext(self.thread_memory.keep, known.threads, texts)
        comments = []
        for item in incoming:
            article_id = str(item.article_id) if item.article_id is not None else None
            context = shared if not each_alone else ThreadContext(
                self.thread_memory.keep, {article_id: known.threads.get(article_id, [])} if article_id else None, texts)
            stored_text, stored_policy, _ = known.articles.get(article_id, (None, None, None))
            if item.article_policy is None:
                item.article_policy = stored_policy
            comments.append(context.comment(item.text, str(item.id), article_id,
                                            str(item.parent_id) if item.parent_id is not None else None,
                                            item.article or stored_text))
        return comments

    def _write(self, to_store: list[queue.ToStore], to_remember: list[tuple[str, str, str]],
               scored: list[author_store.Scored]) -> None:
        """Keep held comments and count authors' comments before answering (mandatory), and remember the thread
        behind the answer."""
        if not to_store and scored:
            try:
                queue.save(self.store, [], scored)
            except StoreUnavailable as error:  # approved comments are still answered: their counts are lost
                log.warning("store unavailable, %d comments not counted in their authors' histories: %s",
                            len(scored), error)
        elif to_store:
            try:
                queue.save(self.store, to_store, scored, self.subscribed)
            except StoreUnavailable as error:
                log.error("store unavailable: %d comments that must be kept were not acknowledged: %s",
                          len(to_store), error)
                raise Unavailable("The review store is unreachable, so held comments cannot be kept; nothing "
                                  "was acknowledged. Retry shortly.", headers={"Retry-After": "5"}) from None
        try:
            self.thread_memory.remember(to_remember)
        except StoreUnavailable as error:  # only when written synchronously (flush_seconds = 0)
            log.warning("store unavailable, %d comments not remembered as thread context: %s", len(to_remember), error)


def _refuse_reused_ids(incoming: list[Incoming], stored: dict) -> None:
    """409 for a comment id stored earlier with other text: answering with that comment's result would be wrong."""
    for i, item in enumerate(incoming):
        previous = stored.get(str(item.id))
        if previous is not None and previous.text != item.text:
            detail = (f"Comment id {str(item.id)!r} was moderated before and its text has since been purged, so "
                      "this cannot be told apart from new text; send it under a new id." if is_purged(previous) else
                      f"Comment id {str(item.id)!r} was moderated before with different text; send changed text "
                      "under a new id.")
            raise Conflict(detail, field=f"comments.{i}.id", title="Comment id reused",
                           type="/problems/comment-id-reused", comment_id=str(item.id))


def _missing_article(item: Incoming, comment: Comment, known: "_Known") -> tuple[str | None, str | None]:
    """(metric label, warning) when a comment names an article but was scored without one, else (None, None)."""
    if item.article_id is None or comment.article is not None:
        return None, None
    article_id = str(item.article_id)
    if known.articles_unreadable:
        return "store_unavailable", (f"article_id {article_id!r}: the article store is unreachable: scored "
                                     "without article context")
    if article_id in known.articles:
        return "empty_article", f"article_id {article_id!r} has no title or body: scored without article context"
    return "unknown_article", f"unknown article_id {article_id!r}: scored without article context"


@dataclass
class _Known:
    """What the store knew about a batch before scoring it."""

    stored: dict = field(default_factory=dict)
    articles: dict = field(default_factory=dict)  # article id -> (text, policy)
    articles_unreadable: bool = False  # the store was down: every article is unknown for this batch
    threads: dict = field(default_factory=dict)  # article id -> [(comment id, text)]
    parents: dict = field(default_factory=dict)  # comment id -> text

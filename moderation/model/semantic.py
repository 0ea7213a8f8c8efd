"""The semantic tier: what a comment means in a pretrained sentence encoder's space, and how close that is to
its article, its thread and its parent."""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import MiniBatchKMeans
from sklearn.linear_model import RidgeCV
from threadpoolctl import threadpool_limits

from .comment import Comment, as_comments
from .text import normalize

SPECIFICITY_RANGE = (0.10, 0.90)  # quantiles of the training comments' predicted specificity mapped to 0 and 1
MAX_ARTICLE_SENTENCES = 24  # the title and the body's first sentences: where a story says what it is about
MAX_THREAD_EMBEDDED = 20  # the last comments of a thread that the comment is compared with
EMBEDDING_CACHE_TEXTS = 20_000  # recent articles' sentences and thread comments, per process
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


@lru_cache(maxsize=4096)
def article_sentences(article: str) -> tuple[str, ...]:
    """An article's title (its first line) and the first sentences of its body (cached: every comment under an
    article asks for them twice, once to encode them and once to compare)."""
    title, _, body = article.partition("\n")
    sentences = [s.strip() for s in _SENTENCE_END.split(body) if len(s.strip()) > 2]
    return (title.strip() or article[:300], *sentences[: MAX_ARTICLE_SENTENCES - 1])


class SemanticContext(TransformerMixin, BaseEstimator):
    """Sentence-encoder features of comments: the comment's own embedding, then how it relates to its context.

    The embedding block is the comment's unit embedding times ``embedding_scale``: what the text says, for
    every label. The context block compares it with the article's title and sentences, the thread and the
    parent, and with a bank of topics fitted on the training comments: being close to some topic but not to
    one's own context is what an off-topic comment looks like, while a generic reaction ("Agreed.") is close to
    neither.

    Parameters
    ----------
    encoder : Encoder
        The pretrained sentence encoder (its identity travels in the pickle, its weights do not).
    embedding_scale : float
        Weight of the embedding columns next to the unit-length n-gram blocks.
    n_topics : int
        Size of the topic bank (k-means centroids of the training comments' embeddings).
    """

    CONTEXT_FEATURES = (
        "sem_title", "sem_article_max", "sem_article_mean", "sem_thread_mean", "sem_thread_max", "sem_parent",
        "sem_context_best", "sem_bank_max", "sem_context_over_bank", "sem_has_context", "sem_thread_size",
        "sem_specific",
    )

    def __init__(self, encoder=None, embedding_scale: float = 1.0, n_topics: int = 64):
        self.encoder = encoder
        self.embedding_scale = embedding_scale
        self.n_topics = n_topics

    def fit(self, X, y=None):
        # The encoder reads what the n-grams read: look-alikes, leetspeak, masking and spacing undone
        # (models fitted before this read the raw text, and keep doing so).
        self.reads_normalized_ = True
        self.__dict__.pop("_cache", None)
        comments = as_comments(X)
        stories = list(dict.fromkeys(s for a in dict.fromkeys(c.article for c in comments if c.article)
                                     for s in article_sentences(a)))
        texts = stories or list(dict.fromkeys(c.text for c in comments))
        topics = self.embedding(texts)
        k = max(1, min(self.n_topics, len(topics) // 4))
        with threadpool_limits(1):  # a few thousand rows: spinning pool threads cost more than they bring
            centroids = MiniBatchKMeans(n_clusters=k, random_state=0, n_init=3).fit(topics).cluster_centers_
        self.bank_ = _unit(centroids.astype(np.float32))
        self._fit_specificity(comments)
        self.dimensions_ = topics.shape[1]
        self.n_features_out_ = self.dimensions_ + len(self.CONTEXT_FEATURES)
        return self

    def _fit_specificity(self, comments: list[Comment]) -> None:
        """Learn how specific a text is to its story: how much closer it is to its own article than to another
        article, predicted from its embedding alone (ridge regression, strength by leave-one-out). The
        articles, not the threads, are the target's contexts: the best of twenty thread comments is a noisy
        measure of what a comment is about.

        "Agreed." is as close to any story as to its own and scores about 0; a comment about the story scores
        about its margin. Off-topic evidence from a low similarity counts only as far as the comment is
        specific (see :meth:`specificity`): a generic reaction is far from every context, not off-topic.
        """
        placed = list({c.text: c for c in reversed(comments) if c.article}.values())
        stories = {c.article for c in placed}
        self.specificity_ = None
        own = context_similarity(self, [Comment(c.text, c.article) for c in placed]) if placed else None
        self.typical_similarity_ = float(np.median(own)) if placed else None
        if len(stories) < 2 or len(placed) < 20:
            return
        rng = np.random.default_rng(0)
        elsewhere = [placed[j] for j in rng.integers(len(placed), size=len(placed))]
        moved = [i for i, (c, o) in enumerate(zip(placed, elsewhere)) if o.article != c.article]
        target = own[moved] - context_similarity(self, [Comment(placed[i].text, elsewhere[i].article) for i in moved])
        embedded = self.embedding([placed[i].text for i in moved])
        ridge = RidgeCV(alphas=np.logspace(-2, 3, 11)).fit(embedded, target)
        predicted = ridge.predict(embedded)
        low, high = np.quantile(predicted, SPECIFICITY_RANGE)
        self.specificity_ = (ridge.coef_.astype(np.float32) / np.float32(high - low),
                             np.float32((ridge.intercept_ - low) / (high - low)))

    def specificity(self, own: np.ndarray) -> np.ndarray:
        """How specific each text is to a story, from 0 (as generic as the least specific tenth of the training
        comments) to 1 (as specific as the most specific tenth); 1 for models fitted before this was learnt."""
        learnt = self.__dict__.get("specificity_")
        if learnt is None:
            return np.ones(len(own), dtype=np.float32)
        coef, intercept = learnt
        return np.clip(own @ coef + intercept, 0.0, 1.0).astype(np.float32)

    def compared_with(self, comment: Comment) -> dict | None:
        """What an off-topic score compared the comment with: the closest text of its context (article sentence,
        thread comment or parent), how close it is, how close training comments typically are to their own
        article, and how specific the comment is; None without context."""
        texts = _context_texts(comment)
        if not texts:
            return None
        vectors = self._embed([comment.text, *texts], keep=True)
        similarities = vectors[1:] @ vectors[0]
        best = int(np.argmax(similarities))
        in_article = len(article_sentences(comment.article)) if comment.article else 0
        in_thread = len([t for t in comment.thread[-MAX_THREAD_EMBEDDED:] if t])
        kind = "article" if best < in_article else "thread" if best < in_article + in_thread else "parent"
        found = {"context": kind, "text": texts[best], "similarity": round(float(similarities[best]), 2),
                 "specificity": round(float(self.specificity(vectors[:1])[0]), 2)}
        typical = self.__dict__.get("typical_similarity_")
        return found if typical is None else {**found, "typical_similarity": round(typical, 2)}

    def transform(self, X) -> tuple[np.ndarray, np.ndarray]:
        """``(embedding block, context block)`` of each comment.

        The comments' own embeddings are cached too: they are the thread of the comments that follow.
        """
        comments = as_comments(X)
        own = self._embed([c.text for c in comments], keep=True)
        return own * np.float32(self.embedding_scale), self.context_features(comments, own)

    def embedding(self, texts: list[str]) -> np.ndarray:
        """Unit embeddings of raw texts (not scaled), cached like the context's."""
        return self._embed(texts, keep=True)

    def prepare_article(self, article: str) -> None:
        """Encode an article's title and sentences now, so that the first comment under it does not wait."""
        self._embed(list(article_sentences(article)), keep=True)

    def context_features(self, comments: list[Comment], own: np.ndarray) -> np.ndarray:
        """Cosine similarities of each comment with its article, thread and parent, and with the topic bank."""
        n = len(comments)
        features = np.zeros((n, len(self.CONTEXT_FEATURES)), dtype=np.float32)
        if not n:
            return features
        needed = list(dict.fromkeys(t for c in comments for t in _context_texts(c)))
        vectors = dict(zip(needed, self._embed(needed, keep=True))) if needed else {}
        bank = (own @ self.bank_.T).max(axis=1)
        features[:, 7] = bank
        for i, comment in enumerate(comments):
            e = own[i]
            best = []
            if comment.article:
                sentences = np.stack([vectors[s] for s in article_sentences(comment.article)])
                cos = sentences @ e
                features[i, 0] = cos[0]
                features[i, 1] = cos.max()
                features[i, 2] = _unit(sentences.mean(axis=0)) @ e
                best.append(features[i, 1])
            thread = [t for t in comment.thread[-MAX_THREAD_EMBEDDED:] if t]
            if thread:
                stacked = np.stack([vectors[t] for t in thread])
                features[i, 3] = _unit(stacked.mean(axis=0)) @ e
                features[i, 4] = (stacked @ e).max()
                # the best of n similarities grows with n: the size lets the model read it for what it is
                features[i, 10] = np.log1p(len(thread)) / np.log1p(MAX_THREAD_EMBEDDED)
                best.append(features[i, 4])
            if comment.parent:
                features[i, 5] = vectors[comment.parent] @ e
                best.append(features[i, 5])
            if best:
                features[i, 6] = max(best)
                features[i, 8] = max(best) - bank[i]
                features[i, 9] = 1.0
        if self.__dict__.get("specificity_") is not None:  # evidence from context counts as far as it is specific
            specific = self.specificity(own)
            features[:, :_SPECIFIC] *= specific[:, None]
            features[:, _SPECIFIC] = specific
        return features[:, : self.n_features_out_ - self.dimensions_]  # models fitted before a column was added

    def _embed(self, texts: list[str], keep: bool) -> np.ndarray:
        cache = self.__dict__.get("_cache")
        if cache is None:
            reads = normalize if self.__dict__.get("reads_normalized_") else None
            cache = self.__dict__.setdefault("_cache", EmbeddingCache(EMBEDDING_CACHE_TEXTS, reads))
        return cache.embed(self.encoder, texts, keep)

    def __getstate__(self):
        return {k: v for k, v in super().__getstate__().items() if k != "_cache"}


_SPECIFIC = SemanticContext.CONTEXT_FEATURES.index("sem_specific")  # the last column; every one before it is gated


def _context_texts(comment: Comment) -> list[str]:
    """The texts a comment is compared with: its article's sentences, its thread's last comments, its parent."""
    texts = list(article_sentences(comment.article)) if comment.article else []
    texts += [t for t in comment.thread[-MAX_THREAD_EMBEDDED:] if t]
    if comment.parent:
        texts.append(comment.parent)
    return texts


class EmbeddingCache:
    """Embeddings of recent texts (articles' sentences, thread comments), the least recently used dropped first,
    keyed by the text as given.

    A lock keeps the order consistent between a worker's threads; encoding happens outside it.
    """

    def __init__(self, max_texts: int, prepare=None):
        self.max_texts = max_texts
        self.prepare = prepare  # what the encoder is given for a text (the normaliser), or the text itself
        self._entries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def embed(self, encoder, texts: list[str], keep: bool = True) -> np.ndarray:
        """Each text's unit embedding, encoding only the texts not cached (each distinct text once)."""
        if not texts:
            return np.zeros((0, encoder.dimensions), dtype=np.float32)
        with self._lock:
            found = {t: self._entries.get(t) for t in texts}
            for t, vector in found.items():
                if vector is not None:
                    self._entries.move_to_end(t)
        missing = [t for t, vector in found.items() if vector is None]
        if missing:
            computed = encoder.encode([self.prepare(t) for t in missing] if self.prepare else missing)
            found.update(zip(missing, computed))
            if keep:
                with self._lock:
                    self._entries.update(zip(missing, computed))
                    while len(self._entries) > self.max_texts:
                        self._entries.popitem(last=False)
        return np.stack([found[t] for t in texts])


def _unit(matrix: np.ndarray) -> np.ndarray:
    """Rows (or a vector) divided by their Euclidean norm; zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def context_similarity(semantic: SemanticContext, comments: list[Comment]) -> np.ndarray:
    """Each comment's highest cosine with any text of its context (article sentences, thread, parent); 0 without."""
    own = semantic.embedding([c.text for c in comments])
    needed = list(dict.fromkeys(t for c in comments for t in _context_texts(c)))
    vectors = dict(zip(needed, semantic.embedding(needed))) if needed else {}
    return np.array([max((float(vectors[t] @ e) for t in _context_texts(c)), default=0.0)
                     for c, e in zip(comments, own)])

"""Features of a comment: its own words and characters, and how it relates to its article and thread."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .ngrams import HashedNgramTfidf
from .text import mark_scopes, normalize, stem, tokenize

MAX_THREAD = 50


@dataclass(frozen=True)
class Comment:
    """One comment to score, with the context it was posted in (all optional)."""

    text: str
    article: str | None = None
    thread: tuple[str, ...] = ()
    parent: str | None = None


def as_comments(X) -> list[Comment]:
    """Accept comments as ``Comment`` records or plain strings."""
    return [x if isinstance(x, Comment) else Comment(str(x)) for x in X]


def word_text(normalized: str) -> str:
    """Space-separated tokens of normalised text, negated and reported words marked: the word n-grams' input."""
    return " ".join(mark_scopes(tokenize(normalized)))


_STOP = frozenset(ENGLISH_STOP_WORDS) | {"xxurl", "xxuser", "xxemail", "just", "like", "don't", "it's", "i'm"}


@lru_cache(maxsize=200_000)
def _topic_token(token: str) -> str:
    """The stem of a content word; empty for stop words, short words and anything not alphabetic."""
    return stem(token) if len(token) > 2 and token not in _STOP and token.isalpha() else ""


def topic_words(normalized: str) -> str:
    """Stemmed content words of normalised text, space-separated: what topic similarity compares."""
    return " ".join(filter(None, map(_topic_token, tokenize(normalized))))


@lru_cache(maxsize=50_000)
def topic_text(text: str) -> str:
    """:func:`topic_words` of a raw text (cached: threads recur)."""
    return topic_words(normalize(text))


class TopicSpace(TransformerMixin, BaseEstimator):
    """TF-IDF of stemmed content words plus an LSA projection, for comparing comments with their context.

    Parameters
    ----------
    n_components : int
        Dimensions of the latent semantic space.
    max_features : int
        Vocabulary size of content-word stems.
    max_svd_rows : int
        The LSA projection is fitted on at most this many texts (a seeded sample): a topic space needs far
        fewer texts than the classifiers, and the SVD's cost grows with every row.
    """

    def __init__(self, n_components=100, max_features=50_000, max_svd_rows=20_000):
        self.n_components = n_components
        self.max_features = max_features
        self.max_svd_rows = max_svd_rows

    def fit(self, X, y=None):
        return self._fit_topics([topic_text(t) for t in X])

    def _fit_topics(self, topics: list[str]) -> "TopicSpace":
        """Fit on texts already reduced by :func:`topic_words`."""
        self.words_ = HashedNgramTfidf("word", (1, 1), max_features=self.max_features, min_df=2)
        vectors = self.words_.fit_transform(topics)
        if vectors.shape[0] > self.max_svd_rows:
            sample = np.random.default_rng(0).choice(vectors.shape[0], self.max_svd_rows, replace=False)
            vectors = vectors[np.sort(sample)]
        components = max(1, min(self.n_components, vectors.shape[1] - 1, vectors.shape[0] - 1))
        svd = TruncatedSVD(n_components=components, random_state=0).fit(vectors)
        self.components_ = svd.components_.astype(np.float32)
        return self

    def transform(self, X) -> sp.csr_matrix:
        return self.words_.transform([topic_text(t) for t in X])


class CommentFeaturizer(TransformerMixin, BaseEstimator):
    """Turn comments into one sparse matrix: word n-grams, character n-grams, then context features.

    The first ``n_text_features_`` columns describe the text alone; the last ``len(CONTEXT_FEATURES)``
    describe its similarity to the article, the thread and the parent comment.

    Parameters
    ----------
    word_ngrams, char_ngrams : tuple of int
        n-gram ranges of the two text vocabularies.
    max_word_features, max_char_features : int
        Vocabulary sizes.
    context_scale : float
        Weight of the dense context columns next to the unit-length text blocks.
    """

    CONTEXT_FEATURES = (
        "has_article", "has_thread", "has_parent",
        "article_cosine", "thread_cosine", "parent_cosine",
        "article_lsa", "thread_lsa", "parent_lsa",
        "article_cosine_sqrt", "thread_cosine_sqrt", "context_overlap", "log_length", "no_context",
    )

    def __init__(self, word_ngrams=(1, 2), char_ngrams=(2, 5), max_word_features=100_000,
                 max_char_features=200_000, n_topics=100, context_scale=1.0):
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.n_topics = n_topics
        self.context_scale = context_scale

    def fit(self, X, y=None):
        self._fit(as_comments(X))
        return self

    def fit_transform(self, X, y=None) -> sp.csr_matrix:
        """Fit and transform, normalising and hashing each comment once."""
        comments = as_comments(X)
        text, topics = self._fit(comments)
        context = self.context_features(comments, topics) * self.context_scale
        return sp.hstack([*text, _dense_csr(context)], format="csr")

    def _fit(self, comments: list[Comment]) -> tuple[list[sp.csr_matrix], dict[str, str]]:
        """Fit every vocabulary; the text blocks of ``comments`` and each comment's topic words, as by-products."""
        normalized = [normalize(c.text) for c in comments]
        self.words_ = HashedNgramTfidf("word", self.word_ngrams, self.max_word_features)
        words = self.words_.fit_transform([word_text(t) for t in normalized])
        self.chars_ = HashedNgramTfidf("char", self.char_ngrams, self.max_char_features)
        chars = self.chars_.fit_transform(normalized)
        topics = {c.text: topic_words(t) for c, t in zip(comments, normalized)}
        articles = sorted({c.article for c in comments if c.article})
        self.topics_ = TopicSpace(self.n_topics)._fit_topics(
            [topics[c.text] for c in comments] + [topic_text(a) for a in articles])
        self.n_text_features_ = self.words_.n_features_out_ + self.chars_.n_features_out_
        self.n_features_out_ = self.n_text_features_ + len(self.CONTEXT_FEATURES)
        return [words, chars], topics

    def transform(self, X) -> sp.csr_matrix:
        comments = as_comments(X)
        context = self.context_features(comments) * self.context_scale
        return sp.hstack([*self._text_blocks([c.text for c in comments]), _dense_csr(context)], format="csr")

    def text_features(self, texts: list[str]) -> sp.csr_matrix:
        """Word and character TF-IDF blocks of raw texts."""
        return sp.hstack(self._text_blocks(texts), format="csr")

    def _text_blocks(self, texts: list[str]) -> list[sp.csr_matrix]:
        """The word block and the character block of raw texts, to be stacked once with whatever follows."""
        normalized = [normalize(t) for t in texts]
        return [self.words_.transform([word_text(t) for t in normalized]), self.chars_.transform(normalized)]

    def context_features(self, comments: list[Comment], topics: dict[str, str] | None = None) -> np.ndarray:
        """Dense similarity features of each comment against its article, thread and parent.

        ``topics`` may map raw texts to their :func:`topic_words` where the caller already has them.

        Every distinct text in the batch is vectorised once. A group (the comment itself, its article, its
        thread, its parent) is the sum of its texts' unit vectors, computed for all comments and groups by
        one selector product; since LSA is linear, a group's LSA vector is the sum of its texts' too. The
        rest is numpy on the entries of that product (binary search, no sorting and no per-comment sparse
        matrices), so one comment costs little more than its vectorisation.
        """
        n = len(comments)
        unique: dict[str, int] = {}
        members: list[list[int]] = [[] for _ in range(4 * n)]  # rows: own, article, thread, parent blocks
        for i, c in enumerate(comments):
            for block, texts in enumerate(((c.text,), (c.article,), c.thread[-MAX_THREAD:], (c.parent,))):
                members[block * n + i] = [unique.setdefault(t, len(unique)) for t in texts if t]
        known = topics or {}
        vectors = self.topics_.words_.transform([known.get(t) or topic_text(t) for t in unique])
        indptr = np.zeros(4 * n + 1, dtype=np.int32)
        np.cumsum([len(m) for m in members], out=indptr[1:])
        indices = np.fromiter((j for m in members for j in m), dtype=np.int32, count=int(indptr[-1]))
        selector = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(4 * n, len(unique)))
        groups = (selector @ vectors).tocsr()
        groups.sum_duplicates()
        latent = selector @ np.asarray(vectors @ self.topics_.components_.T, dtype=np.float32)
        latent = _unit_rows(np.asarray(latent))
        rows = np.repeat(np.arange(4 * n), np.diff(groups.indptr))
        width = groups.shape[1] + 1
        keys = (rows % n) * width + groups.indices  # (comment, word): sorted within each block
        block = rows // n
        values = groups.data.astype(np.float64)
        norms = np.sqrt(np.bincount(rows, weights=values ** 2, minlength=4 * n))
        own = block == 0
        own_keys, own_values = keys[own], values[own]
        cos, lsa = [], []
        for b in (1, 2, 3):
            mine = block == b
            where, found = _lookup_sorted(own_keys, keys[mine])
            dots = np.bincount(own_keys[where] // width, weights=own_values[where] * values[mine][found], minlength=n)
            denominator = norms[:n] * norms[b * n:(b + 1) * n]
            cos.append(np.divide(dots, denominator, out=np.zeros(n), where=denominator > 0))
            lsa.append(np.einsum("ij,ij->i", latent[:n], latent[b * n:(b + 1) * n]))
        in_context = np.zeros(len(own_keys), dtype=bool)
        for b in (1, 2):
            in_context[_lookup_sorted(own_keys, keys[block == b])[0]] = True
        shared = np.bincount(own_keys[in_context] // width, minlength=n)
        own_words = np.bincount(own_keys // width, minlength=n)
        overlap = shared / np.maximum(own_words, 1)
        has = np.array([[bool(c.article), bool(c.thread), bool(c.parent)] for c in comments],
                       dtype=np.float32).reshape(n, 3)
        cos, lsa = np.column_stack(cos), np.column_stack(lsa)
        return np.column_stack([
            has, cos, lsa, np.sqrt(np.clip(cos[:, :2], 0, None)), overlap, np.log1p(own_words) / 5,
            1 - has.max(axis=1),
        ]).astype(np.float32)


def _dense_csr(matrix: np.ndarray) -> sp.csr_matrix:
    """A dense block as CSR with every entry stored (cheaper than scipy's conversion, which looks for zeros)."""
    rows, columns = matrix.shape
    return sp.csr_matrix((matrix.ravel(), np.tile(np.arange(columns, dtype=np.int32), rows),
                          np.arange(0, rows * columns + 1, columns, dtype=np.int32)), shape=matrix.shape)


def _lookup_sorted(keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in sorted ``keys`` of the queries found there, and which queries those were."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(len(queries), dtype=bool)
    where = np.minimum(np.searchsorted(keys, queries), len(keys) - 1)
    found = keys[where] == queries
    return where[found], found


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)

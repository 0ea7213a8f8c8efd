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
from .text import normalize, stem, tokenize

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
    """Space-separated tokens of normalised text: the input of the word n-gram vocabulary."""
    return " ".join(tokenize(normalized))


_STOP = frozenset(ENGLISH_STOP_WORDS) | {"xxurl", "xxuser", "xxemail", "just", "like", "don't", "it's", "i'm"}


@lru_cache(maxsize=50_000)
def topic_text(text: str) -> str:
    """Stemmed content words of a text, space-separated: what topic similarity compares (cached: threads recur)."""
    return " ".join(stem(t) for t in tokenize(normalize(text)) if len(t) > 2 and t not in _STOP and t.isalpha())


class TopicSpace(TransformerMixin, BaseEstimator):
    """TF-IDF of stemmed content words plus an LSA projection, for comparing comments with their context.

    Parameters
    ----------
    n_components : int
        Dimensions of the latent semantic space.
    max_features : int
        Vocabulary size of content-word stems.
    """

    def __init__(self, n_components=100, max_features=50_000):
        self.n_components = n_components
        self.max_features = max_features

    def fit(self, X, y=None):
        topics = [topic_text(t) for t in X]
        self.words_ = HashedNgramTfidf("word", (1, 1), max_features=self.max_features, min_df=2).fit(topics)
        vectors = self.words_.transform(topics)
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
        comments = as_comments(X)
        normalized = [normalize(c.text) for c in comments]
        self.words_ = HashedNgramTfidf("word", self.word_ngrams, self.max_word_features).fit(
            [word_text(t) for t in normalized])
        self.chars_ = HashedNgramTfidf("char", self.char_ngrams, self.max_char_features).fit(normalized)
        articles = {c.article for c in comments if c.article}
        self.topics_ = TopicSpace(self.n_topics).fit([c.text for c in comments] + sorted(articles))
        self.n_text_features_ = self.words_.n_features_out_ + self.chars_.n_features_out_
        self.n_features_out_ = self.n_text_features_ + len(self.CONTEXT_FEATURES)
        return self

    def transform(self, X) -> sp.csr_matrix:
        comments = as_comments(X)
        text = self.text_features([c.text for c in comments])
        context = self.context_features(comments) * self.context_scale
        return sp.hstack([text, sp.csr_matrix(context)], format="csr")

    def text_features(self, texts: list[str]) -> sp.csr_matrix:
        """Word and character TF-IDF blocks of raw texts."""
        normalized = [normalize(t) for t in texts]
        words = self.words_.transform([word_text(t) for t in normalized])
        chars = self.chars_.transform(normalized)
        return sp.hstack([words, chars], format="csr")

    def context_features(self, comments: list[Comment]) -> np.ndarray:
        """Dense similarity features of each comment against its article, thread and parent.

        Every distinct text in the batch is vectorised once. A group (the comment itself, its article, its
        thread, its parent) is the sum of its texts' unit vectors, computed for all comments and groups by
        one selector product; since LSA is linear, a group's LSA vector is the sum of its texts' too. The
        rest is numpy on the entries of that product, with no per-comment sparse matrices.
        """
        n = len(comments)
        unique: dict[str, int] = {}
        members: list[list[int]] = [[] for _ in range(4 * n)]  # rows: own, article, thread, parent blocks
        for i, c in enumerate(comments):
            for block, texts in enumerate(((c.text,), (c.article,), c.thread[-MAX_THREAD:], (c.parent,))):
                members[block * n + i] = [unique.setdefault(t, len(unique)) for t in texts if t]
        vectors = self.topics_.transform(list(unique))
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
        keys = (rows % n) * width + groups.indices  # (comment, word) of every entry
        block = rows // n
        norms = np.sqrt(np.bincount(rows, weights=groups.data.astype(np.float64) ** 2, minlength=4 * n))
        own = block == 0
        cos, lsa = [], []
        for b in (1, 2, 3):
            mine = block == b
            _, in_own, in_group = np.intersect1d(keys[own], keys[mine], assume_unique=True, return_indices=True)
            dots = np.bincount(keys[own][in_own] // width, minlength=n,
                               weights=groups.data[own][in_own] * groups.data[mine][in_group].astype(np.float64))
            denominator = norms[:n] * norms[b * n:(b + 1) * n]
            cos.append(np.divide(dots, denominator, out=np.zeros(n), where=denominator > 0))
            lsa.append(np.einsum("ij,ij->i", latent[:n], latent[b * n:(b + 1) * n]))
        context_keys = keys[(block == 1) | (block == 2)]
        shared = np.bincount(keys[own][np.isin(keys[own], context_keys)] // width, minlength=n)
        own_words = np.bincount(keys[own] // width, minlength=n)
        overlap = shared / np.maximum(own_words, 1)
        has = np.array([[bool(c.article), bool(c.thread), bool(c.parent)] for c in comments],
                       dtype=np.float32).reshape(n, 3)
        cos, lsa = np.column_stack(cos), np.column_stack(lsa)
        return np.column_stack([
            has, cos, lsa, np.sqrt(np.clip(cos[:, :2], 0, None)), overlap, np.log1p(own_words) / 5,
            1 - has.max(axis=1),
        ]).astype(np.float32)


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)

"""Features of a comment: its own words and characters, and how it relates to its article and thread."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .ngrams import HashedNgramTfidf, l2_normalize
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
        self.svd_ = TruncatedSVD(n_components=components, random_state=0).fit(vectors)
        return self

    def transform(self, X) -> sp.csr_matrix:
        return self.words_.transform([topic_text(t) for t in X])

    def project(self, vectors: sp.csr_matrix) -> np.ndarray:
        """Unit-length LSA coordinates of TF-IDF rows (zero rows stay zero)."""
        dense = self.svd_.transform(vectors).astype(np.float32)
        norms = np.linalg.norm(dense, axis=1, keepdims=True)
        return np.divide(dense, norms, out=np.zeros_like(dense), where=norms > 0)


def _rowwise_dot(a, b) -> np.ndarray:
    if sp.issparse(a):
        return np.asarray(a.multiply(b).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", a, b)


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
        """Dense similarity features of each comment against its article, thread and parent."""
        n = len(comments)
        unique: dict[str, int] = {}
        for c in comments:
            for t in (c.text, c.article, c.parent, *c.thread[-MAX_THREAD:]):
                if t:
                    unique.setdefault(t, len(unique))
        vectors = self.topics_.transform(list(unique)) if unique else sp.csr_matrix((0, 1))

        def pick(rows: list[list[int]]) -> sp.csr_matrix:
            indptr = np.cumsum([0] + [len(r) for r in rows])
            indices = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(indptr[-1]))
            selector = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(n, len(unique)))
            return l2_normalize(selector @ vectors)

        own = pick([[unique[c.text]] if c.text else [] for c in comments])
        article = pick([[unique[c.article]] if c.article else [] for c in comments])
        thread = pick([[unique[t] for t in c.thread[-MAX_THREAD:] if t] for c in comments])
        parent = pick([[unique[c.parent]] if c.parent else [] for c in comments])
        own_lsa, article_lsa, thread_lsa, parent_lsa = (
            self.topics_.project(m) for m in (own, article, thread, parent))
        has = np.array([[bool(c.article), bool(c.thread), bool(c.parent)] for c in comments], dtype=np.float32)
        cos = np.column_stack([_rowwise_dot(own, m) for m in (article, thread, parent)])
        lsa = np.column_stack([_rowwise_dot(own_lsa, m) for m in (article_lsa, thread_lsa, parent_lsa)])
        own_binary = own.copy()
        own_binary.data[:] = 1
        context_binary = (article + thread).tocsr()
        context_binary.data[:] = 1
        overlap = _rowwise_dot(own_binary, context_binary) / np.maximum(own_binary.getnnz(axis=1), 1)
        length = np.log1p(own_binary.getnnz(axis=1)) / 5
        return np.column_stack([
            has, cos, lsa, np.sqrt(np.clip(cos[:, :2], 0, None)), overlap, length, 1 - has.max(axis=1),
        ]).astype(np.float32)

"""The topic space: stemmed content words, their TF-IDF and an LSA projection, to compare a comment with its context."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from threadpoolctl import threadpool_limits

from .ngrams import HashedNgramTfidf
from .text import STOP_WORDS, normalize_recent, stem, tokenize_recent


@lru_cache(maxsize=200_000)
def _topic_token(token: str) -> str:
    """The stem of a content word; empty for stop words, short words and anything not alphabetic."""
    return stem(token) if len(token) > 2 and token not in STOP_WORDS and token.isalpha() else ""


def topic_words(normalized: str) -> str:
    """Stemmed content words of normalised text, space-separated: what topic similarity compares."""
    return " ".join(filter(None, map(_topic_token, tokenize_recent(normalized))))


@lru_cache(maxsize=50_000)
def topic_text(text: str) -> str:
    """:func:`topic_words` of a raw text (cached: threads recur)."""
    return topic_words(normalize_recent(text))


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
        if min(vectors.shape) < 2:  # a vocabulary of one word (a handful of comments) has no latent space to find
            self.components_ = np.zeros((1, vectors.shape[1]), dtype=np.float32)
            return self
        components = max(1, min(self.n_components, vectors.shape[1] - 1, vectors.shape[0] - 1))
        with threadpool_limits(1):  # as the topic bank's k-means: small products, pool threads only spin
            svd = TruncatedSVD(n_components=components, random_state=0).fit(vectors)
        self.components_ = svd.components_.astype(np.float32)
        return self

    def transform(self, X) -> sp.csr_matrix:
        return self.words_.transform([topic_text(t) for t in X])

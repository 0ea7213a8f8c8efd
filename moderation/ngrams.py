"""Vectorised n-gram counting: every n-gram of a whole batch hashed in numpy, with no Python work per n-gram.

A batch of strings is laid end to end as one array of code points; a polynomial prefix hash (mod 2**64)
gives any substring's hash in O(1), so all character n-grams and all word n-grams of the batch are
hashed with a handful of array operations. A fitted vocabulary is a sorted array of 64-bit hashes.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

_P = np.uint64(0x100000001B3)  # odd, so it has an inverse modulo 2**64
_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))
_SEPARATOR = 0  # code point between documents
_SPACE = 32
_powers_cache: dict[str, np.ndarray] = {}
_TABLE_FROM = 20_000  # n-grams in a batch from which the hash table beats a binary search


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i mod 2**64 for i in [0, n], grown on demand and shared."""
    cached = _powers_cache.get("p")
    if cached is None or len(cached) <= n:
        size = max(n + 1, 1 << 16, 2 * (0 if cached is None else len(cached)))
        with np.errstate(over="ignore"):
            _powers_cache["p"] = np.cumprod(np.concatenate(([np.uint64(1)], np.full(size - 1, _P))))
            _powers_cache["q"] = np.cumprod(np.concatenate(([np.uint64(1)], np.full(size - 1, _P_INV))))
    return _powers_cache["p"], _powers_cache["q"]


def _mix(h: np.ndarray, salt: int) -> np.ndarray:
    """Finalise hashes (splitmix64) so close substrings land far apart; the salt keeps orders distinct."""
    with np.errstate(over="ignore"):
        h = h + np.uint64(salt * 0x9E3779B97F4A7C15 % (1 << 64))
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


class _Batch:
    """A batch of strings as one code-point array with prefix hashes."""

    def __init__(self, texts: list[str]):
        joined = "\x00".join(texts) + "\x00"
        self.codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.starts = np.zeros(len(texts), dtype=np.int64)
        np.cumsum(lengths[:-1] + 1, out=self.starts[1:])
        self.doc = np.repeat(np.arange(len(texts), dtype=np.int64), lengths + 1)
        powers, inverse = _powers(len(self.codes))
        with np.errstate(over="ignore"):
            self.prefix = np.zeros(len(self.codes) + 1, dtype=np.uint64)
            np.cumsum(self.codes * powers[: len(self.codes)], out=self.prefix[1:])
        self.inverse = inverse

    def hash(self, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Position-independent hash of each substring codes[begin:end]."""
        with np.errstate(over="ignore"):
            return (self.prefix[end] - self.prefix[begin]) * self.inverse[begin]


def char_ngrams(texts: list[str], ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(document index, hash) of every character n-gram of each text padded with one space each side."""
    batch = _Batch([f" {t} " for t in texts])
    separators = np.flatnonzero(batch.codes == _SEPARATOR)
    next_separator = separators[np.searchsorted(separators, np.arange(len(batch.codes)))]
    docs, hashes = [], []
    for n in range(ngram_range[0], ngram_range[1] + 1):
        begin = np.flatnonzero(next_separator - np.arange(len(batch.codes)) >= n)
        docs.append(batch.doc[begin])
        hashes.append(_mix(batch.hash(begin, begin + n), n))
    return np.concatenate(docs), np.concatenate(hashes)


def word_ngrams(texts: list[str], ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(document index, hash) of every word n-gram of each text, whose tokens are separated by single spaces."""
    batch = _Batch(texts)
    is_break = (batch.codes == _SPACE) | (batch.codes == _SEPARATOR)
    is_start = ~is_break & np.concatenate(([True], is_break[:-1]))
    is_end = ~is_break & np.concatenate((is_break[1:], [True]))
    begins = np.flatnonzero(is_start)
    ends = np.flatnonzero(is_end) + 1
    token_doc = batch.doc[begins]
    docs, hashes = [], []
    for n in range(ngram_range[0], ngram_range[1] + 1):
        if len(begins) < n:
            continue
        first = np.arange(len(begins) - n + 1)
        same_doc = token_doc[first] == token_doc[first + n - 1]
        first = first[same_doc]
        docs.append(token_doc[first])
        hashes.append(_mix(batch.hash(begins[first], ends[first + n - 1]), 100 + n))
    if not docs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    return np.concatenate(docs), np.concatenate(hashes)


class HashedNgramTfidf(TransformerMixin, BaseEstimator):
    """TF-IDF over character or word n-grams, with a vocabulary of the most frequent hashed n-grams.

    Parameters
    ----------
    kind : {"char", "word"}
        Character n-grams of the text, or word n-grams of space-separated tokens.
    ngram_range : tuple of int
        Smallest and largest n.
    max_features : int
        Keep at most this many n-grams, the most frequent by document frequency.
    min_df : int
        Drop n-grams seen in fewer documents.
    sublinear_tf : bool
        Use 1 + log(tf) instead of raw counts.
    """

    def __init__(self, kind="char", ngram_range=(2, 5), max_features=200_000, min_df=2, sublinear_tf=True):
        self.kind = kind
        self.ngram_range = ngram_range
        self.max_features = max_features
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    def _ngrams(self, texts):
        if self.kind == "char":
            return char_ngrams(list(texts), self.ngram_range)
        if self.kind == "word":
            return word_ngrams(list(texts), self.ngram_range)
        raise ValueError(f"kind must be 'char' or 'word', not {self.kind!r}")

    def fit(self, X, y=None):
        self._fit_counts(list(X))
        return self

    def fit_transform(self, X, y=None) -> sp.csr_matrix:
        """Fit, then weigh the counts already gathered (the n-grams are hashed once, not twice)."""
        return self._weigh(self._fit_counts(list(X)))

    def _fit_counts(self, texts: list[str]) -> sp.csr_matrix:
        """Choose the vocabulary from ``texts`` and return their counts over it."""
        from pandas import factorize  # a hash table: 20x faster than sorting every n-gram with np.unique

        docs, hashes = self._ngrams(texts)
        inverse, unique = factorize(hashes, sort=True)  # columns in hash order, whatever order the texts came in
        counts = _count_matrix(docs, inverse, len(texts), len(unique))
        df = np.bincount(counts.indices, minlength=len(unique))
        keep = np.flatnonzero(df >= self.min_df)
        if len(keep) > self.max_features:
            keep = keep[np.argsort(-df[keep], kind="stable")[: self.max_features]]
            keep.sort()
        self.vocabulary_ = unique[keep]
        self.idf_ = (np.log((1 + len(texts)) / (1 + df[keep])) + 1).astype(np.float32)
        self.n_features_out_ = len(keep)
        return counts[:, keep]

    def counts(self, X) -> sp.csr_matrix:
        """Raw n-gram counts over the fitted vocabulary."""
        texts = list(X)
        docs, hashes = self._ngrams(texts)
        columns = self._columns(hashes)
        known = columns >= 0
        width = max(self.n_features_out_, 1)
        keys, counts = np.unique(docs[known] * width + columns[known], return_counts=True)
        indptr = np.searchsorted(keys, np.arange(len(texts) + 1) * width).astype(np.int32)
        return sp.csr_matrix((counts.astype(np.float32), (keys % width).astype(np.int32), indptr),
                             shape=(len(texts), self.n_features_out_))

    def _columns(self, hashes: np.ndarray) -> np.ndarray:
        """Column of each hash, or -1 where it is not in the vocabulary.

        A binary search of the sorted vocabulary costs one numpy call, which is what the few hundred
        n-grams of one comment need; the hash table's probe rounds pay off from a few tens of thousands.
        """
        if len(hashes) >= _TABLE_FROM or not len(self.vocabulary_):
            return self._table().lookup(hashes)
        where = np.searchsorted(self.vocabulary_, hashes)
        where[where == len(self.vocabulary_)] = 0
        return np.where(self.vocabulary_[where] == hashes, where, -1)

    def _table(self) -> "_HashTable":
        table = self.__dict__.get("_lookup")
        if table is None:
            table = self.__dict__["_lookup"] = _HashTable(self.vocabulary_)
        return table

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_lookup"}

    def transform(self, X) -> sp.csr_matrix:
        return self._weigh(self.counts(X))

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """TF-IDF rows of unit length from a count matrix (changed in place)."""
        values = np.log1p(counts.data) if self.sublinear_tf else counts.data
        values *= self.idf_[counts.indices]
        rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=counts.shape[0])).astype(np.float32)
        counts.data = values / norms[rows]
        return counts

    def get_feature_names_out(self, input_features=None):
        return np.array([f"{self.kind}{i}" for i in range(len(self.vocabulary_))], dtype=object)


def _count_matrix(docs: np.ndarray, columns: np.ndarray, n_rows: int, n_columns: int) -> sp.csr_matrix:
    """Counts of (document, column) pairs as CSR with sorted indices.

    For the tens of millions of n-grams of a training set, scipy's conversion (which sorts each row on its
    own) is twice as fast as one global sort; :meth:`HashedNgramTfidf.counts` sorts, which is cheaper for
    the few n-grams of a comment being scored.
    """
    matrix = sp.csr_matrix((np.ones(len(docs), dtype=np.float32), (docs, columns)), shape=(n_rows, n_columns))
    matrix.sum_duplicates()
    return matrix


class _HashTable:
    """Open-addressing map from 64-bit n-gram hashes to column numbers, probed for a whole array at once."""

    def __init__(self, keys: np.ndarray):
        size = 1 << max(4, int(np.ceil(np.log2(max(len(keys), 1) * 4))))
        self.mask = np.uint64(size - 1)
        self.keys = np.zeros(size, dtype=np.uint64)
        self.values = np.full(size, -1, dtype=np.int32)
        slots = keys & self.mask
        pending = np.arange(len(keys))
        rounds = 0
        while len(pending):
            rounds += 1
            # Each round, the first of the keys wanting a free slot takes it; the rest move one slot on.
            wanted = slots[pending]
            free = self.keys[wanted] == 0
            order = np.flatnonzero(free)
            _, first = np.unique(wanted[order], return_index=True)
            winners = pending[order[first]]
            self.keys[slots[winners]] = keys[winners]
            self.values[slots[winners]] = winners
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            pending = pending[~placed[pending]]
            slots[pending] = (slots[pending] + np.uint64(1)) & self.mask
        self.probes = max(rounds, 1)  # no key sits further from its home slot than the rounds it took

    def lookup(self, hashes: np.ndarray) -> np.ndarray:
        """Column of each hash, or -1 where it is not in the vocabulary."""
        result = np.full(len(hashes), -1, dtype=np.int64)
        slots = hashes & self.mask
        pending = np.arange(len(hashes))
        for _ in range(self.probes):
            if not len(pending):
                break
            stored = self.keys[slots[pending]]
            hit = stored == hashes[pending]
            result[pending[hit]] = self.values[slots[pending[hit]]]
            pending = pending[~hit & (stored != 0)]
            slots[pending] = (slots[pending] + np.uint64(1)) & self.mask
        return result

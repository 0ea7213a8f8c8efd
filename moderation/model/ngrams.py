"""Vectorised n-gram counting: every n-gram of a whole batch hashed in numpy, with no Python work per n-gram.

A batch of strings is laid end to end as one array of code points; a polynomial prefix hash (mod 2**64)
gives any substring's hash in O(1), so all character n-grams and all word n-grams of the batch are
hashed with a handful of array operations. A fitted vocabulary is a sorted array of 64-bit hashes.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from ._ngram_count import count as count_compiled
from ._ngram_count import occurrences as occurrences_compiled
from .sparse_rows import SparseRows

_P = np.uint64(0x100000001B3)  # odd, so it has an inverse modulo 2**64
_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))
_SEPARATOR = 0  # code point between documents
_SPACE = 32
_powers_cache: dict[str, np.ndarray] = {}
_TABLE_FROM = 20_000  # n-grams in a batch from which the hash table beats a binary search
_DISTINCT_FROM = 2_000  # n-grams from which looking each distinct one up once pays for finding them
# Code points of a batch up to which the compiled counter counts its n-grams: a scoring batch of a thousand
# comments (half that many code points in all) takes it, twice as fast as the numpy path; past it, the
# counter's scratch arrays (16 bytes per n-gram it may find) would outgrow a few tens of MiB.
COMPILED_UP_TO = 1_000_000


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i mod 2**64 for i in [0, n], grown on demand and shared."""
    cached = _powers_cache.get("p")
    if cached is None or len(cached) <= n:
        size = max(n + 1, 1 << 16, 2 * (0 if cached is None else len(cached)))
        with np.errstate(over="ignore"):
            _powers_cache["p"] = np.cumprod(np.concatenate(([np.uint64(1)], np.full(size - 1, _P))))
            _powers_cache["q"] = np.cumprod(np.concatenate(([np.uint64(1)], np.full(size - 1, _P_INV))))
    return _powers_cache["p"], _powers_cache["q"]


def _mix(h: np.ndarray, salt: np.ndarray) -> np.ndarray:
    """Finalise hashes (splitmix64) so close substrings land far apart; the salt (one per hash) keeps orders distinct.

    Arrays of unsigned integers wrap around silently, so no ``errstate`` is needed here or in ``_Batch.hash``.
    """
    h = h + salt.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


class _Batch:
    """A batch of strings as one code-point array with prefix hashes."""

    def __init__(self, texts: list[str]):
        joined = "\x00".join(texts) + "\x00"
        self.codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.doc = np.arange(len(texts)).repeat(lengths + 1)
        powers, self.inverse = _powers(len(self.codes))
        self.prefix = np.zeros(len(self.codes) + 1, dtype=np.uint64)
        (self.codes * powers[: len(self.codes)]).cumsum(out=self.prefix[1:])

    def hash(self, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Position-independent hash of each substring codes[begin:end]."""
        return (self.prefix[end] - self.prefix[begin]) * self.inverse[begin]


# The numpy path: batches past COMPILED_UP_TO code points and training's tens of
# millions of n-grams. Few calls, and ndarray methods rather than numpy's
# Python wrappers, for the parts of such a batch that are small.

def _char_spans(codes: np.ndarray, ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of every character n-gram of texts laid end to end, each followed by a separator."""
    separators = (codes == _SEPARATOR).nonzero()[0]
    positions = np.arange(len(codes))
    room = separators[separators.searchsorted(positions)] - positions
    begins = [(room >= n).nonzero()[0] for n in range(ngram_range[0], ngram_range[1] + 1)]
    sizes = np.arange(ngram_range[0], ngram_range[1] + 1, dtype=np.uint8)
    return _join(begins), sizes.repeat([len(b) for b in begins])


_EDGE = np.ones(1, dtype=np.int8)


def _word_spans(codes: np.ndarray, doc: np.ndarray, ngram_range: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Start, end and number of tokens of every word n-gram within one text, its tokens separated by spaces."""
    is_break = (codes == _SPACE) | (codes == _SEPARATOR)
    edges = np.concatenate((_EDGE, is_break.view(np.int8), _EDGE))
    step = edges[1:] - edges[:-1]  # -1 where a token starts, 1 just after it ends
    begins = (step == -1).nonzero()[0]
    ends = (step == 1).nonzero()[0]
    token_doc = doc[begins]
    firsts = []  # first token of every n-gram within one document, for each n
    for n in range(ngram_range[0], ngram_range[1] + 1):
        firsts.append((token_doc[: max(len(begins) - n + 1, 0)] == token_doc[n - 1:]).nonzero()[0])
    sizes = np.arange(ngram_range[0], ngram_range[1] + 1, dtype=np.uint8).repeat([len(f) for f in firsts])
    first = _join(firsts)
    return begins[first], ends[first + sizes - 1], sizes


def _join(arrays: list[np.ndarray]) -> np.ndarray:
    """Arrays end to end; a single one as it is, not copied (training hashes tens of millions of n-grams)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def char_ngrams(texts: list[str], ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(document index, hash) of every character n-gram of each text padded with one space each side."""
    batch = _Batch([f" {t} " for t in texts])
    begin, size = _char_spans(batch.codes, ngram_range)
    return batch.doc[begin], _mix(batch.hash(begin, begin + size), size)


def word_ngrams(texts: list[str], ngram_range: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(document index, hash) of every word n-gram of each text, whose tokens are separated by single spaces."""
    batch = _Batch(texts)
    begin, end, size = _word_spans(batch.codes, batch.doc, ngram_range)
    return batch.doc[begin], _mix(batch.hash(begin, end), 100 + size.astype(np.int64))


def rows_together(parts: list[tuple["HashedNgramTfidf", list[str]]]) -> list[SparseRows]:
    """:meth:`HashedNgramTfidf.rows` of several fitted vectorisers, each on its own texts, in one pass.

    One comment's features need three vectorisations of short strings (words, characters, topic words),
    where the fixed cost of each numpy call outweighs the work: the texts of all three go into one batch,
    and hashing, counting and weighing are done once for all.

    Parameters
    ----------
    parts : list of (HashedNgramTfidf, list of str)
        Each fitted vectoriser with the texts it should transform.

    Returns
    -------
    list of SparseRows
        Each part's TF-IDF rows over its vectoriser's columns.
    """
    indptr, column, counts, doc_bounds = _count_together(parts)
    bounds = [(int(indptr[first]), int(indptr[last])) for first, last in zip(doc_bounds, doc_bounds[1:])]
    sublinear = [vectorizer.sublinear_tf for vectorizer, _ in parts]
    if all(sublinear):
        tf = np.log1p(counts)
    else:
        tf = _join([np.log1p(counts[b:e]) if log else counts[b:e] for log, (b, e) in zip(sublinear, bounds)])
    values = _unit_length(indptr, tf * _join([v.idf_[column[b:e]] for (v, _), (b, e) in zip(parts, bounds)]))
    return [SparseRows(indptr[first:last + 1] - b, column[b:e], values[b:e], vectorizer.n_features_out_)
            for (vectorizer, _), first, last, (b, e) in zip(parts, doc_bounds, doc_bounds[1:], bounds)]


def _count_together(parts: list[tuple["HashedNgramTfidf", list[str]]]) -> tuple[np.ndarray, ...]:
    """Counts of every part's texts over its vectoriser's vocabulary, all texts' rows in one CSR matrix.

    Returns the row pointers, columns and counts of that matrix, and where each part's rows begin. Up to
    COMPILED_UP_TO code points in all, the compiled counter (:mod:`moderation.model._ngram_count`) counts them,
    with the same result bit for bit.
    """
    laid_out = [vectorizer._laid_out(texts) for vectorizer, texts in parts]
    doc_bounds, code_bounds = [0], [0]
    for texts in laid_out:
        doc_bounds.append(doc_bounds[-1] + len(texts))
        code_bounds.append(code_bounds[-1] + sum(map(len, texts)) + len(texts))
    if code_bounds[-1] <= COMPILED_UP_TO:
        return (*_count_compiled([vectorizer for vectorizer, _ in parts], laid_out), doc_bounds)
    batch = _Batch([t for texts in laid_out for t in texts])
    begins, ends, salts = [], [], []
    for (vectorizer, _), start, stop in zip(parts, code_bounds, code_bounds[1:]):
        begin, end, salt = vectorizer._spans(batch.codes[start:stop], batch.doc[start:stop])
        begins.append(begin + start if start else begin)
        ends.append(end + start if start else end)
        salts.append(salt)
    begin = _join(begins)
    hashes = _mix(batch.hash(begin, _join(ends)), _join(salts))
    # Each text belongs to one part, so (text, column) pairs are distinct across parts as they are.
    width = max(max(vectorizer.n_features_out_ for vectorizer, _ in parts), 1)
    keys, offset = [], 0
    for (vectorizer, _), part in zip(parts, begins):
        found, column = vectorizer._known(hashes[offset:offset + len(part)])
        keys.append(batch.doc[part[found]] * width + column)
        offset += len(part)
    keys = _join(keys)
    keys.sort()
    first = np.concatenate((_TRUE[: len(keys)], keys[1:] != keys[:-1])).nonzero()[0]  # each run of equal keys
    counts = np.concatenate((first[1:], [len(keys)])) - first
    keys = keys[first]
    indptr = keys.searchsorted(np.arange(doc_bounds[-1] + 1) * width).astype(np.int32)
    return indptr, (keys % width).astype(np.int32), counts.astype(np.float32), doc_bounds


_TRUE = np.ones(1, dtype=bool)


def _count_compiled(vectorizers: list["HashedNgramTfidf"], laid_out: list[list[str]]) -> tuple[np.ndarray, ...]:
    """Row pointers, columns and counts of :func:`_count_together`, from the compiled counter."""
    texts = [t for part in laid_out for t in part]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    ends = lengths.cumsum()
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    part = np.arange(len(laid_out)).repeat([len(t) for t in laid_out])
    words = np.array([v.kind == "word" for v in vectorizers], dtype=np.uint8)
    lows = np.array([v.ngram_range[0] for v in vectorizers], dtype=np.int64)
    highs = np.array([v.ngram_range[1] for v in vectorizers], dtype=np.int64)
    tables = [v._table() for v in vectorizers]
    return count_compiled(codes, ends - lengths, ends, part, words, lows, highs, tuple(t.keys for t in tables),
                          tuple(t.values for t in tables), max(v.n_features_out_ for v in vectorizers))


def _unit_length(indptr: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The values of CSR rows divided by their row's Euclidean norm."""
    rows = np.arange(len(indptr) - 1).repeat(indptr[1:] - indptr[:-1])
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(indptr) - 1)).astype(np.float32)
    return values / norms[rows]


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

    def _laid_out(self, texts) -> list[str]:
        """The texts as hashed: character n-grams see one space of padding each side."""
        if self.kind == "char":
            return [f" {t} " for t in texts]
        if self.kind == "word":
            return list(texts)
        raise ValueError(f"kind must be 'char' or 'word', not {self.kind!r}")

    def _spans(self, codes: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start, end and hash salt of every n-gram of laid-out texts (code points and their text numbers)."""
        if self.kind == "char":
            begin, size = _char_spans(codes, self.ngram_range)
            return begin, begin + size, size
        begin, end, size = _word_spans(codes, doc, self.ngram_range)
        return begin, end, 100 + size.astype(np.int64)

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
        indptr, columns, counts, _ = _count_together([(self, texts)])
        return sp.csr_matrix((counts, columns, indptr), shape=(len(texts), self.n_features_out_))

    def _known(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of the hashes are in the vocabulary (their positions), and their columns, in no particular order.

        The numpy path's look-up (a batch of a few texts goes to the compiled counter instead). A part of a
        batch can still be small: a binary search of the sorted vocabulary costs a few numpy calls, and the
        hash table's probe rounds pay off from a few tens of thousands of n-grams. The hashes are searched
        in sorted order, each search starting where the last ended: several times faster than searching a
        vocabulary larger than the CPU's cache in random order. From a few thousand n-grams, common ones
        repeat enough that each distinct one is searched once.
        """
        if len(hashes) >= _TABLE_FROM or not len(self.vocabulary_):
            columns = self._table().lookup(hashes)
            found = (columns >= 0).nonzero()[0]
            return found, columns[found]
        order = hashes.argsort()
        distinct = hashes.take(order)
        repeats = len(hashes) >= _DISTINCT_FROM
        if repeats:
            is_new = np.concatenate((_TRUE, distinct[1:] != distinct[:-1]))
            slot, distinct = is_new.cumsum() - 1, distinct[is_new]
        where = self.vocabulary_.searchsorted(distinct)
        np.minimum(where, len(self.vocabulary_) - 1, out=where)
        hit = self.vocabulary_.take(where) == distinct
        if repeats:
            hit, where = hit.take(slot), where.take(slot)
        return order[hit], where[hit]

    def _table(self) -> "_HashTable":
        table = self.__dict__.get("_lookup")
        if table is None:
            table = self.__dict__["_lookup"] = _HashTable(self.vocabulary_)
        return table

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_lookup"}

    def transform(self, X) -> sp.csr_matrix:
        return self.rows(X).to_csr()

    def rows(self, X) -> SparseRows:
        """:meth:`transform` as CSR arrays, without building a scipy matrix."""
        return rows_together([(self, list(X))])[0]

    def occurrences(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every n-gram of one text that the vocabulary knows: where it lies, its column, its share of the value.

        What explanations attribute a linear model's weights to: the shares of a column's occurrences add
        up to that column's value in ``transform([text])``.

        Parameters
        ----------
        text : str
            One text, as :meth:`transform` takes it.

        Returns
        -------
        begin, end : ndarray of int
            Where each occurrence lies in ``text`` (the padding of character n-grams clipped off).
        column : ndarray of int
            Its column.
        share : ndarray of float32
            Its column's TF-IDF value divided by the column's count in the text.
        """
        codes = np.frombuffer(self._laid_out([text])[0].encode("utf-32-le"), dtype=np.uint32)
        table = self._table()
        begin, end, column = occurrences_compiled(codes, self.kind == "word", self.ngram_range[0],
                                                  self.ngram_range[1], table.keys, table.values)
        if self.kind == "char":  # the padding (one space each side) clipped off
            begin, end = np.maximum(begin - 1, 0), np.minimum(end - 1, len(text))
        order = column.argsort(kind="stable")
        ordered = column[order]
        first = (np.concatenate((_TRUE[: len(ordered)], ordered[1:] != ordered[:-1]))).nonzero()[0]
        counts = np.diff(np.append(first, len(ordered))).astype(np.float32)
        distinct = ordered[first]
        tf = np.log1p(counts) if self.sublinear_tf else counts
        values = _unit_length(np.array([0, len(distinct)]), tf * self.idf_[distinct])
        share = np.empty(len(column), dtype=values.dtype)
        share[order] = (values / counts).repeat(counts.astype(np.int64))
        return begin, end, column, share

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """TF-IDF rows of unit length from a count matrix (changed in place)."""
        values = np.log1p(counts.data) if self.sublinear_tf else counts.data
        values *= self.idf_[counts.indices]
        counts.data = _unit_length(counts.indptr, values)
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

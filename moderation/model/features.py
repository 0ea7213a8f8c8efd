"""Features of a comment: its own words and characters, and how it relates to its article and thread."""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from .comment import MAX_THREAD, Comment, as_comments
from .ngrams import HashedNgramTfidf, rows_together
from .sparse_rows import SparseRows, dense_rows, hstack_rows, sum_in_order, vstack_rows
from .text import mark_scopes, normalize, normalize_recent, normalize_with_offsets, token_spans, tokenize_recent
from .topics import TopicSpace, topic_text, topic_words

CONTEXT_CACHE_TEXTS = 20_000
CONTEXT_CACHE_BYTES = 32 << 20


def word_text(normalized: str) -> str:
    """Space-separated tokens of normalised text, negated and reported words marked: the word n-grams' input."""
    return " ".join(mark_scopes(tokenize_recent(normalized)))


class CommentFeaturizer(TransformerMixin, BaseEstimator):
    """Turn comments into one sparse matrix: word n-grams, character n-grams, the sentence embedding, then context
    features.

    The first ``n_text_features_`` columns describe the text alone (n-grams, then the embedding when there is a
    semantic tier); the rest describe its similarity to the article, the thread and the parent comment: the
    ``CONTEXT_FEATURES`` over words, then the semantic tier's ``SemanticContext.CONTEXT_FEATURES``.

    Parameters
    ----------
    word_ngrams, char_ngrams : tuple of int
        n-gram ranges of the two text vocabularies.
    max_word_features, max_char_features : int
        Vocabulary sizes.
    context_scale : float
        Weight of the dense context columns next to the unit-length text blocks.
    semantic : SemanticContext or None
        The semantic tier (a pretrained sentence encoder); None for n-grams and word statistics alone.
    """

    CONTEXT_FEATURES = (
        "has_article", "has_thread", "has_parent",
        "article_cosine", "thread_cosine", "parent_cosine",
        "article_lsa", "thread_lsa", "parent_lsa",
        "article_cosine_sqrt", "thread_cosine_sqrt", "context_overlap", "log_length", "no_context",
    )
    semantic = None  # artifacts pickled before the semantic tier existed have no such attribute

    def __init__(self, word_ngrams=(1, 2), char_ngrams=(2, 5), max_word_features=100_000,
                 max_char_features=200_000, n_topics=100, context_scale=1.0, semantic=None):
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.n_topics = n_topics
        self.context_scale = context_scale
        self.semantic = semantic

    def fit(self, X, y=None):
        self._fit(as_comments(X))
        return self

    def fit_transform(self, X, y=None) -> sp.csr_matrix:
        """Fit and transform, normalising and hashing each comment once."""
        comments = as_comments(X)
        text, topics = self._fit(comments)
        context = self.context_features(comments, topics) * self.context_scale
        return self._stack_csr(text, context, comments)

    def _stack_csr(self, text: list[sp.csr_matrix], context: np.ndarray, comments: list[Comment]) -> sp.csr_matrix:
        """The n-gram blocks, then the semantic tier's embedding, then the context columns, as one CSR matrix."""
        if self.semantic is None:
            return sp.hstack([*text, dense_rows(context).to_csr()], format="csr")
        embedding, context = self._with_semantic(comments, context)
        return sp.hstack([*text, dense_rows(embedding).to_csr(), dense_rows(context).to_csr()], format="csr")

    def _with_semantic(self, comments: list[Comment], context: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The semantic tier's embedding block, and the context columns over words and over meaning together.

        The word-level similarities count as far as the comment is specific to a story, like the semantic ones
        (:meth:`SemanticContext.specificity`); the comment's length and whether it has any context do not.
        """
        embedding, semantic_context = self.semantic.transform(comments)
        if self.semantic.__dict__.get("specificity_") is not None:
            context = np.where(_GATED, context * semantic_context[:, -1:], context)
        return embedding, np.hstack([context, semantic_context * self.context_scale], dtype=np.float32)

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
        if self.semantic is not None:
            self.semantic.fit(comments)
            self.n_text_features_ += self.semantic.dimensions_
            self.n_features_out_ += self.semantic.n_features_out_
        return [words, chars], topics

    def transform(self, X) -> sp.csr_matrix:
        comments = as_comments(X)
        normalized = [normalize_recent(c.text) for c in comments]  # found again by topic_text, not redone
        context = self.context_features(comments) * self.context_scale
        return self._stack_csr(self._normalized_blocks(normalized), context, comments)

    def rows(self, X) -> SparseRows:
        """:meth:`transform` of a few comments, the same values as CSR arrays, without scipy matrices.

        For one comment the fixed cost of each scipy and numpy call outweighs the work, so this path
        makes few calls. The topic vectors of article, thread and parent texts are cached on the
        featuriser (and left out of its pickle), since the same context recurs on every request for an
        article; the comments' own topic vectors are cached too, since they are the thread of the comments
        that follow. The comments' text blocks, their topic vectors and those of context texts not cached
        yet are computed in one pass. For thousands of comments, :meth:`transform` is faster.

        Parameters
        ----------
        X : list of Comment or str
            The comments.

        Returns
        -------
        SparseRows
            One row per comment, ``n_features_out_`` columns.
        """
        comments = as_comments(X)
        n = len(comments)
        normalized = [normalize_recent(c.text) for c in comments]  # cached: a scored text is often normalised again next
        groups = [_group_texts(c) for c in comments]
        context_texts = list(dict.fromkeys(t for g in groups for texts in g[1:] for t in texts))
        cache = self._get_context_cache()
        cached = cache.get_many(context_texts)
        missing = [t for t, vector in zip(context_texts, cached) if vector is None]
        words, chars, topics = rows_together([
            (self.words_, [word_text(t) for t in normalized]), (self.chars_, normalized),
            (self.topics_.words_, [topic_words(t) for t in normalized] + [topic_text(t) for t in missing])])
        latent = topics @ self.topics_.components_.T
        computed = {t: _TopicVector.of_row(topics, latent, n + i) for i, t in enumerate(missing)}
        vectors = {t: vector or computed[t] for t, vector in zip(context_texts, cached)}
        computed.update((c.text, _TopicVector.of_row(topics, latent, i)) for i, c in enumerate(comments)
                        if c.text and c.text not in vectors)
        cache.put_many(computed)
        end = topics.indptr[n]
        own = SparseRows(topics.indptr[:n + 1], topics.indices[:end], topics.data[:end], topics.n_columns)
        context = self._cached_context_features(comments, groups, own, latent[:n], vectors) * self.context_scale
        if self.semantic is None:
            return hstack_rows([words, chars, dense_rows(context)])
        embedding, context = self._with_semantic(comments, context)
        return hstack_rows([words, chars, dense_rows(embedding), dense_rows(context)])

    def warm_up(self) -> None:
        """Build the vocabularies' lookup tables now, not in the first request."""
        for vectorizer in (self.words_, self.chars_, self.topics_.words_):
            vectorizer._table()

    def text_features(self, texts: list[str]) -> sp.csr_matrix:
        """The text block of raw texts: word and character TF-IDF, then the embedding when there is one."""
        blocks = self._text_blocks(texts)
        if self.semantic is not None:
            blocks.append(dense_rows(self._scaled_embedding(texts)).to_csr())
        return sp.hstack(blocks, format="csr")

    def text_rows(self, texts: list[str]) -> SparseRows:
        """:meth:`text_features` of a few texts as CSR arrays, without scipy matrices."""
        normalized = [normalize(t) for t in texts]
        blocks = rows_together([(self.words_, [word_text(t) for t in normalized]), (self.chars_, normalized)])
        if self.semantic is not None:
            blocks.append(dense_rows(self._scaled_embedding(texts)))
        return hstack_rows(blocks)

    def _scaled_embedding(self, texts: list[str]) -> np.ndarray:
        embedding = self.semantic.embedding(texts) if texts else np.zeros((0, self.semantic.dimensions_), np.float32)
        return embedding * np.float32(self.semantic.embedding_scale)

    def text_ngrams(self, text: str) -> "TextNgrams":
        """The word and character n-grams of one raw text in the first two blocks, and where they lie in it.

        Columns are those of this featuriser's output: the word block's, then the character block's; the
        columns after them (whatever blocks follow) have no n-grams.
        """
        normalized, begins, ends = normalize_with_offsets(text)
        spans = token_spans(normalized)
        words = word_text(normalized)
        word_begin, word_end, word_column, word_share = self.words_.occurrences(words)
        # The tokens of word_text are those of the normalised text (some marked), one space apart.
        starts = np.cumsum([0] + [len(token) + 1 for token in words.split(" ")[:-1]]) if words else np.zeros(0)
        token_begin = np.array([b for b, _ in spans], dtype=np.int64)
        token_end = np.array([e for _, e in spans], dtype=np.int64)
        first = starts.searchsorted(word_begin, side="right") - 1
        last = starts.searchsorted(word_end - 1, side="right") - 1
        char_begin, char_end, char_column, char_share = self.chars_.occurrences(normalized)
        return TextNgrams(
            normalized, np.array(begins, dtype=np.int64), np.array(ends, dtype=np.int64), token_begin, token_end,
            begin=np.concatenate([token_begin[first], char_begin]).astype(np.int64),
            end=np.concatenate([token_end[last], char_end]).astype(np.int64),
            column=np.concatenate([word_column, char_column + self.words_.n_features_out_]).astype(np.int64),
            share=np.concatenate([word_share, char_share]))

    def _text_blocks(self, texts: list[str]) -> list[sp.csr_matrix]:
        """The word block and the character block of raw texts, to be stacked once with whatever follows."""
        return self._normalized_blocks([normalize(t) for t in texts])

    def _normalized_blocks(self, normalized: list[str]) -> list[sp.csr_matrix]:
        """:meth:`_text_blocks` of texts already normalised."""
        return [self.words_.transform([word_text(t) for t in normalized]), self.chars_.transform(normalized)]

    def context_features(self, comments: list[Comment], topics: dict[str, str] | None = None) -> np.ndarray:
        """Dense similarity features of each comment against its article, thread and parent.

        ``topics`` may map raw texts to their :func:`topic_words` where the caller already has them.

        Every distinct text in the batch is vectorised once. A group (the comment itself, its article, its
        thread, its parent) is the sum of its texts' unit vectors, computed for all comments and groups by
        one selector product; since LSA is linear, a group's LSA vector is the sum of its texts' too.
        """
        n = len(comments)
        unique: dict[str, int] = {}
        members: list[list[int]] = [[] for _ in range(4 * n)]  # rows: own, article, thread, parent blocks
        for i, c in enumerate(comments):
            for block, texts in enumerate(_group_texts(c)):
                members[block * n + i] = [unique.setdefault(t, len(unique)) for t in texts]
        known = topics or {}
        vectors = self.topics_.words_.transform([known.get(t) or topic_text(t) for t in unique])
        indptr = np.zeros(4 * n + 1, dtype=np.int32)
        np.cumsum([len(m) for m in members], out=indptr[1:])
        indices = np.fromiter((j for m in members for j in m), dtype=np.int32, count=int(indptr[-1]))
        selector = sp.csr_matrix((np.ones(len(indices), np.float32), indices, indptr), shape=(4 * n, len(unique)))
        groups = (selector @ vectors).tocsr()
        groups.sum_duplicates()
        latent = selector @ np.asarray(vectors @ self.topics_.components_.T, dtype=np.float32)
        return self._similarities(comments, SparseRows(groups.indptr, groups.indices, groups.data, groups.shape[1]),
                                  np.asarray(latent))

    def _cached_context_features(self, comments: list[Comment], groups: list[tuple[tuple[str, ...], ...]],
                                 own: SparseRows, own_latent: np.ndarray,
                                 vectors: dict[str, "_TopicVector"]) -> np.ndarray:
        """:meth:`context_features` from the comments' own topic vectors and those of their context texts.

        The same floats: groups are added up term by term in the order of the selector products there. A
        group that several comments share (comments on one article with the same thread) is added up once.
        """
        members = [g[block] for block in (1, 2, 3) for g in groups]  # rows n to 4n of context_features
        distinct = list(dict.fromkeys(members))
        sums, latent = self._sum_groups([[vectors[t] for t in texts] for texts in distinct])
        if len(distinct) < len(members):
            position = {texts: k for k, texts in enumerate(distinct)}
            which = np.array([position[texts] for texts in members])
            sums, latent = sums.take(which), latent[which]
        return self._similarities(comments, vstack_rows([own, sums]), np.concatenate([own_latent, latent]))

    def _sum_groups(self, groups: list[list["_TopicVector"]]) -> tuple[SparseRows, np.ndarray]:
        """Each group's topic vector and LSA vector: the sums of its texts', added in order as scipy adds them.

        TF-IDF values are positive, so no sum is zero (scipy's sparse product would drop it).
        """
        members = [v for group in groups for v in group]
        sizes = [len(g) for g in groups]
        width = self.topics_.words_.n_features_out_
        latent = np.zeros((len(groups), self.topics_.components_.shape[0]), dtype=np.float32)
        if not members:
            return SparseRows(np.zeros(len(groups) + 1, dtype=np.int64), np.zeros(0, np.int64),
                              np.zeros(0, np.float32), width), latent
        stacked = np.frombuffer(b"".join([v.latent for v in members]), dtype=np.float32).reshape(len(members), -1)
        start = 0
        for g, size in enumerate(sizes):  # most groups have one text
            if size:
                latent[g] = sum_in_order(stacked[start:start + size]) if size > 1 else stacked[start]
            start += size
        group = np.arange(len(groups)).repeat(sizes)
        columns = np.frombuffer(b"".join([v.columns for v in members]), dtype=np.int32)
        keys = group.repeat([v.size for v in members]) * width + columns
        order = keys.argsort(kind="stable")  # equal keys stay in member order
        keys = keys[order]
        is_first = np.concatenate((_TRUE[: len(keys)], keys[1:] != keys[:-1]))
        sums = np.zeros(int(is_first.sum()), dtype=np.float32)
        values = np.frombuffer(b"".join([v.values for v in members]), dtype=np.float32)
        np.add.at(sums, is_first.cumsum() - 1, values[order])
        keys = keys[is_first]
        return SparseRows(keys.searchsorted(np.arange(len(groups) + 1) * width), keys % width, sums, width), latent

    def _get_context_cache(self) -> "_TopicCache":
        cache = self.__dict__.get("_context_cache")
        if cache is None:
            cache = self.__dict__.setdefault("_context_cache", _TopicCache(CONTEXT_CACHE_TEXTS, CONTEXT_CACHE_BYTES))
        return cache

    def __getstate__(self):
        return {k: v for k, v in super().__getstate__().items() if k != "_context_cache"}

    def _similarities(self, comments: list[Comment], groups: SparseRows, latent: np.ndarray) -> np.ndarray:
        """The context features from the topic vectors and LSA vectors of each comment's four groups.

        Row ``block * n + i`` of ``groups`` and ``latent`` is group ``block`` (own, article, thread, parent)
        of comment ``i``; the columns of each row are sorted. The rest is numpy on the rows' entries (binary
        search, no sorting and no per-comment sparse matrices), all blocks at once.
        """
        n = len(comments)
        rows = np.arange(4 * n).repeat(groups.indptr[1:] - groups.indptr[:-1])
        width = groups.n_columns + 1
        keys = (rows % n) * width + groups.indices  # (comment, word): sorted within each block
        values = groups.data.astype(np.float64)
        norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=4 * n))
        split = int(groups.indptr[n])  # the comments' own entries come first
        own_keys, own_values = keys[:split], values[:split]
        where, found = _lookup_sorted(own_keys, keys[split:])
        block = rows[split:][found] // n
        own_comment = own_keys // width
        dots = np.bincount((block - 1) * n + own_comment[where], weights=own_values[where] * values[split:][found],
                           minlength=3 * n).reshape(3, n)
        denominator = norms[:n] * norms[n:].reshape(3, n)
        cos = np.divide(dots, denominator, out=np.zeros((3, n)), where=denominator > 0)
        latent = _unit_rows(latent)
        lsa = np.einsum("ij,bij->bi", latent[:n], latent[n:].reshape(3, n, latent.shape[1]))
        in_context = np.zeros(split, dtype=bool)
        in_context[where[block <= 2]] = True  # own words also in the article or the thread
        shared = np.bincount(own_comment[in_context], minlength=n)
        own_words = np.bincount(own_comment, minlength=n)
        has = np.array([[bool(c.article), bool(c.thread), bool(c.parent)] for c in comments],
                       dtype=np.float32).reshape(n, 3)
        return np.concatenate([
            has, cos.T, lsa.T, np.sqrt(np.maximum(cos[:2].T, 0)), (shared / np.maximum(own_words, 1))[:, None],
            (np.log1p(own_words) / 5)[:, None], 1 - has.max(axis=1, keepdims=True),
        ], axis=1, dtype=np.float32)


# The word-level context columns a comment's specificity scales: all but its length and whether it has context.
_GATED = np.array([name not in ("no_context", "log_length") for name in CommentFeaturizer.CONTEXT_FEATURES])


@dataclass(frozen=True)
class TextNgrams:
    """The n-grams of one raw text that the featuriser counts, placed in its normalised text.

    ``normalized[i]`` comes from ``raw[raw_begin[i]:raw_end[i]]``; token ``k`` of the normalised text is
    ``normalized[token_begin[k]:token_end[k]]``; n-gram occurrence ``j`` covers
    ``normalized[begin[j]:end[j]]``, counts in feature column ``column[j]`` and carries ``share[j]`` of
    that column's value (the shares of a column add up to its value).
    """

    normalized: str
    raw_begin: np.ndarray
    raw_end: np.ndarray
    token_begin: np.ndarray
    token_end: np.ndarray
    begin: np.ndarray
    end: np.ndarray
    column: np.ndarray
    share: np.ndarray


def _group_texts(comment: Comment) -> tuple[tuple[str, ...], ...]:
    """The texts of a comment's four groups: itself, its article, its thread's last MAX_THREAD, its parent."""
    return ((comment.text,) if comment.text else (), (comment.article,) if comment.article else (),
            tuple(filter(None, comment.thread[-MAX_THREAD:])), (comment.parent,) if comment.parent else ())


@dataclass(frozen=True, slots=True)
class _TopicVector:
    """One text in topic space: its unit TF-IDF vector's columns (int32) and values (float32), and its LSA
    projection (float32), as bytes: joining fifty byte strings costs a fraction of concatenating fifty arrays.
    """

    columns: bytes
    values: bytes
    latent: bytes
    size: int

    @classmethod
    def of_row(cls, rows: SparseRows, latent: np.ndarray, i: int) -> "_TopicVector":
        """Row ``i`` of a batch's topic vectors and their LSA projections."""
        begin, end = rows.indptr[i], rows.indptr[i + 1]
        return cls(rows.indices[begin:end].astype(np.int32).tobytes(),
                   rows.data[begin:end].astype(np.float32).tobytes(), latent[i].astype(np.float32).tobytes(),
                   int(end - begin))


class _TopicCache:
    """Topic vectors of context texts, the least recently used dropped first, bounded in count and in bytes.

    A lock keeps the order and the byte count consistent between the threads of a worker.
    """

    OVERHEAD = 200  # bytes of the entry's other Python objects (its record, its place in the dictionary)

    def __init__(self, max_texts: int, max_bytes: int):
        self.max_texts = max_texts
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, _TopicVector] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get_many(self, texts: list[str]) -> list[_TopicVector | None]:
        """The cached vector of each text, or None."""
        with self._lock:
            found = [self._entries.get(t) for t in texts]
            for t, vector in zip(texts, found):
                if vector is not None:
                    self._entries.move_to_end(t)
        return found

    def put_many(self, vectors: dict[str, _TopicVector]) -> None:
        """Cache vectors, dropping the least recently used beyond the bounds."""
        with self._lock:
            for text, vector in vectors.items():
                if text not in self._entries:
                    self._entries[text] = vector
                    self.bytes += self.size(text, vector)
            while len(self._entries) > self.max_texts or self.bytes > self.max_bytes:
                text, vector = self._entries.popitem(last=False)
                self.bytes -= self.size(text, vector)

    def size(self, text: str, vector: _TopicVector) -> int:
        """Bytes an entry holds."""
        return sum(map(sys.getsizeof, (text, vector.columns, vector.values, vector.latent))) + self.OVERHEAD


def _lookup_sorted(keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in sorted ``keys`` of the queries found there, and which queries those were."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(len(queries), dtype=bool)
    where = np.minimum(keys.searchsorted(queries), len(keys) - 1)
    found = keys[where] == queries
    return where[found], found


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows divided by their Euclidean norm (``np.linalg.norm``'s arithmetic without its overhead); zero rows stay."""
    norms = np.sqrt(np.add.reduce(matrix * matrix, axis=1, keepdims=True))
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


_TRUE = np.ones(1, dtype=bool)

# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled n-gram counting for a few texts: the numpy path of moderation.model.ngrams in one pass, per request.

For the handful of strings one comment needs (its words, characters and topic words), the vectorised numpy
path makes some sixty array calls whose fixed cost is most of the work. This walks the code points once: it hashes every n-gram with the same polynomial and finaliser
as moderation.model.ngrams (unsigned 64-bit arithmetic wraps as numpy's does), finds it in the vocabulary's
open-addressing hash table (a probe or two, where a binary search of a vocabulary larger than the CPU's
caches misses a dozen times), and counts each text's columns. The result is the numpy path's CSR arrays,
bit for bit (tests/test_ngram_count.py compares the two). The counting runs without the GIL. The same walk
also places each n-gram of one text that the vocabulary knows, for explanations (``occurrences``).
"""
import numpy as np

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t


cdef extern from *:  # gcc's and clang's
    int __builtin_ctzll(unsigned long long) nogil  # the lowest set bit's position
    void __builtin_prefetch(const void*) nogil  # a hint to load an address into the cache

cdef uint64_t _P = 0x100000001B3ULL  # as moderation.model.ngrams._P
cdef uint64_t _GOLDEN = 0x9E3779B97F4A7C15ULL
cdef uint64_t _MIX_1 = 0xBF58476D1CE4E5B9ULL
cdef uint64_t _MIX_2 = 0x94D049BB133111EBULL
cdef uint32_t _SPACE = 32
cdef int64_t _WORD_SALT = 100  # word n-grams are salted with 100 + n, character n-grams with n
cdef Py_ssize_t _AHEAD = 16  # hashes between the one whose slot is fetched and the one probed


cdef inline uint64_t _mix(uint64_t h, int64_t salt) noexcept nogil:
    h = h + <uint64_t>salt * _GOLDEN
    h = (h ^ (h >> 30)) * _MIX_1
    h = (h ^ (h >> 27)) * _MIX_2
    return h ^ (h >> 31)


cdef inline Py_ssize_t _push(uint64_t h, uint64_t[::1] hashes, Py_ssize_t n, int64_t begin, int64_t end,
                             int64_t[::1] spans) noexcept nogil:
    """Append hash ``h`` to ``hashes[n:]``, and its ``begin`` and ``end`` to ``spans[2 * n:]`` when ``spans`` is not
    empty; return the new count."""
    hashes[n] = h
    if spans.shape[0]:
        spans[2 * n] = begin
        spans[2 * n + 1] = end
    return n + 1


cdef Py_ssize_t _probe(const uint64_t[::1] keys, const int32_t[::1] values, const uint64_t[::1] hashes,
                       Py_ssize_t n, int64_t[::1] found, const int64_t[::1] spans, int64_t[::1] where) noexcept nogil:
    """Append to ``found`` the column of each of ``hashes[:n]`` that the table has, in order (and its span from
    ``spans`` to ``where`` when ``where`` is not empty); return how many were found.

    The slot of the hash ``_AHEAD`` places on is fetched into the cache while this one is probed: a table of
    some megabytes misses the core's own caches, and the probes of one text do not wait for each other.
    0 marks an empty slot, so an n-gram hashing to 0 (one chance in 2**64) is never found, here as in the
    numpy path's table.
    """
    cdef uint64_t mask = <uint64_t>(keys.shape[0] - 1), slot, h
    cdef Py_ssize_t j, m = 0
    for j in range(n):
        if j + _AHEAD < n:
            __builtin_prefetch(&keys[hashes[j + _AHEAD] & mask])
        h = hashes[j]
        slot = h & mask
        while keys[slot] != 0:
            if keys[slot] == h:
                found[m] = values[slot]
                if where.shape[0]:
                    where[2 * m] = spans[2 * j]
                    where[2 * m + 1] = spans[2 * j + 1]
                m += 1
                break
            slot = (slot + 1) & mask
    return m


cdef Py_ssize_t _char_hashes(const uint32_t[::1] codes, int64_t start, int64_t end, int64_t low, int64_t high,
                             uint64_t[::1] hashes, int64_t[::1] spans) noexcept nogil:
    cdef Py_ssize_t n = 0
    cdef int64_t i, k
    cdef uint64_t h, power
    for i in range(start, end):
        h = 0
        power = 1
        for k in range(min(high, end - i)):
            if codes[i + k] == 0:  # NUL separates texts in the numpy path: no n-gram spans one
                break
            h += <uint64_t>codes[i + k] * power
            power *= _P
            if k + 1 >= low:
                n = _push(_mix(h, k + 1), hashes, n, i, i + k + 1, spans)
    return n


cdef Py_ssize_t _word_hashes(const uint32_t[::1] codes, int64_t start, int64_t end, int64_t low, int64_t high,
                             uint64_t[::1] hashes, int64_t[::1] token_begin, int64_t[::1] token_end,
                             int64_t[::1] spans) noexcept nogil:
    cdef Py_ssize_t n_hashes = 0
    cdef int64_t tokens = 0, i = start, t, n, position
    cdef uint64_t h, power
    while i < end:  # tokens: runs of code points other than the space (and NUL, as in the numpy path)
        if codes[i] == _SPACE or codes[i] == 0:
            i += 1
            continue
        token_begin[tokens] = i
        while i < end and codes[i] != _SPACE and codes[i] != 0:
            i += 1
        token_end[tokens] = i
        tokens += 1
    for t in range(tokens):
        h = 0
        power = 1
        position = token_begin[t]
        for n in range(1, min(high, tokens - t) + 1):
            while position < token_end[t + n - 1]:  # extend the hash over the gap and the next token
                h += <uint64_t>codes[position] * power
                power *= _P
                position += 1
            if n >= low:
                n_hashes = _push(_mix(h, _WORD_SALT + n), hashes, n_hashes, token_begin[t], position, spans)
    return n_hashes


cdef Py_ssize_t _tally(const int64_t[::1] found, Py_ssize_t m, int32_t[::1] tally, uint64_t[::1] seen,
                       int32_t[::1] columns, float[::1] counts, Py_ssize_t out) noexcept nogil:
    """Append the distinct columns of ``found[:m]`` to ``columns[out:]`` in increasing order, each with its count,
    and return the new end; ``tally`` and ``seen`` are left zero as they came.

    A count per column and a bit per column seen, read back word by word: no sorting (a comparison sort
    through a callback took five times as long as finding the n-grams).
    """
    cdef Py_ssize_t k, lowest = seen.shape[0], highest = -1, w
    cdef int64_t column
    cdef uint64_t bits
    for k in range(m):
        column = found[k]
        if tally[column] == 0:
            w = column >> 6
            seen[w] |= (<uint64_t>1) << (column & 63)
            lowest = min(lowest, w)
            highest = max(highest, w)
        tally[column] += 1
    for w in range(lowest, highest + 1):
        bits = seen[w]
        while bits:
            column = (w << 6) + __builtin_ctzll(bits)
            columns[out] = <int32_t>column
            counts[out] = <float>tally[column]
            tally[column] = 0
            out += 1
            bits &= bits - 1
        seen[w] = 0
    return out


def count(const uint32_t[::1] codes, const int64_t[::1] starts, const int64_t[::1] ends, const int64_t[::1] part,
          const unsigned char[::1] words, const int64_t[::1] lows, const int64_t[::1] highs, tuple keys,
          tuple values, int64_t width):
    """Counts of each text's n-grams over its part's vocabulary, as CSR arrays with sorted columns.

    Parameters
    ----------
    codes : uint32 array
        Code points of all texts, laid out as their vectorisers hash them.
    starts, ends : int64 arrays
        Where each text begins and ends in ``codes``.
    part : int64 array
        The part (vectoriser) of each text.
    words : uint8 array, lows, highs : int64 arrays, one entry per part
        Word n-grams (1) or character n-grams (0), and the smallest and largest n.
    keys, values : tuples of arrays, one of each per part
        Each part's vocabulary as a hash table (moderation.model.ngrams._HashTable): uint64 n-gram hashes in the
        slots of a power-of-two array (0 where empty), and the int32 column in the same slot.
    width : int
        More than any column of any part (the widest vocabulary's size).

    Returns
    -------
    indptr : int32 array, columns : int32 array, counts : float32 array
    """
    cdef Py_ssize_t n_texts = starts.shape[0], d, n, m, out = 0
    cdef int64_t capacity = 0, longest = 1, p
    for d in range(n_texts):
        n = (ends[d] - starts[d]) * (highs[part[d]] - lows[part[d]] + 1)
        capacity += n
        longest = max(longest, n)
    hashes_array = np.empty(longest, dtype=np.uint64)  # one text's n-grams at a time
    found_array = np.empty(longest, dtype=np.int64)
    begin_array = np.empty(codes.shape[0] + 1, dtype=np.int64)
    end_array = np.empty(codes.shape[0] + 1, dtype=np.int64)
    indptr_array = np.zeros(n_texts + 1, dtype=np.int32)
    columns_array = np.empty(max(capacity, 1), dtype=np.int32)
    counts_array = np.empty(max(capacity, 1), dtype=np.float32)
    cdef int32_t[::1] tally = np.zeros(max(width, 1), dtype=np.int32)
    cdef uint64_t[::1] seen = np.zeros(max(width, 1) // 64 + 1, dtype=np.uint64)
    cdef uint64_t[::1] hashes = hashes_array
    cdef int64_t[::1] found = found_array, token_begin = begin_array, token_end = end_array
    cdef int32_t[::1] indptr = indptr_array, columns = columns_array
    cdef float[::1] counts = counts_array
    cdef const uint64_t[::1] table_keys
    cdef const int32_t[::1] table_values
    cdef int64_t[::1] nowhere = np.empty(0, dtype=np.int64)
    for d in range(n_texts):
        p = part[d]
        table_keys = keys[p]
        table_values = values[p]
        with nogil:
            if words[p]:
                n = _word_hashes(codes, starts[d], ends[d], lows[p], highs[p], hashes, token_begin, token_end,
                                 nowhere)
            else:
                n = _char_hashes(codes, starts[d], ends[d], lows[p], highs[p], hashes, nowhere)
            m = _probe(table_keys, table_values, hashes, n, found, nowhere, nowhere)
            out = _tally(found, m, tally, seen, columns, counts, out)
            indptr[d + 1] = <int32_t>out
    return indptr_array, columns_array[:out], counts_array[:out]


def occurrences(const uint32_t[::1] codes, bint words, int64_t low, int64_t high, const uint64_t[::1] keys,
                const int32_t[::1] values):
    """Where each n-gram of one text that the vocabulary knows lies, and its column, in the text's order.

    Parameters
    ----------
    codes : uint32 array
        Code points of the text, laid out as its vectoriser hashes it.
    words : bool
        Word n-grams, or else character n-grams.
    low, high : int
        The smallest and largest n.
    keys, values : arrays
        The vocabulary's hash table, as for :func:`count`.

    Returns
    -------
    begin : int64 array, end : int64 array, columns : int64 array
    """
    cdef int64_t size = codes.shape[0]
    cdef Py_ssize_t n, m
    hashes_array = np.empty(max(size * (high - low + 1), 1), dtype=np.uint64)
    found_array = np.empty(hashes_array.shape[0], dtype=np.int64)
    spans_array = np.empty(2 * hashes_array.shape[0], dtype=np.int64)
    where_array = np.empty(2 * hashes_array.shape[0], dtype=np.int64)
    begin_array = np.empty(size + 1, dtype=np.int64)
    end_array = np.empty(size + 1, dtype=np.int64)
    cdef uint64_t[::1] hashes = hashes_array
    cdef int64_t[::1] found = found_array, spans = spans_array, where = where_array
    cdef int64_t[::1] token_begin = begin_array, token_end = end_array
    with nogil:
        if words:
            n = _word_hashes(codes, 0, size, low, high, hashes, token_begin, token_end, spans)
        else:
            n = _char_hashes(codes, 0, size, low, high, hashes, spans)
        m = _probe(keys, values, hashes, n, found, spans, where)
    return where_array[0:2 * m:2], where_array[1:2 * m:2], found_array[:m]

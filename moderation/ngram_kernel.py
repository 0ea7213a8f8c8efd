"""Compiled n-gram counting for a few texts: the numpy path of :mod:`moderation.ngrams` in one pass, per request.

For the handful of strings one comment needs (its words, characters and topic words, or the occlusion
variants of one comment), the vectorised numpy path makes some sixty array calls whose fixed cost is most of
the work. This kernel walks the code points once: it hashes every n-gram with the same polynomial and
finaliser as :mod:`moderation.ngrams`, finds it in the vocabulary's open-addressing hash table (one probe or
two, where a binary search of a vocabulary larger than the CPU's caches misses a dozen times), and counts
each text's columns. The result is the same CSR arrays, bit for bit (tests compare the two paths).

Compiled by numba on first use; :func:`warm_up` does that ahead of the first request. The compiled code is
kept in numba's cache (beside this file, in ``NUMBA_CACHE_DIR``, or the user's cache directory), or, where
none of those is writable, compiled again by each process.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_P = np.uint64(0x100000001B3)  # as moderation.ngrams._P
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_SPACE = 32
_WORD_SALT = 100  # word n-grams are salted with 100 + n, character n-grams with n


def _jit(function):
    """``numba.njit`` without the GIL, cached on disk where numba finds a writable place for it."""
    try:
        return njit(cache=True, nogil=True)(function)
    except RuntimeError:  # "no locator available": a read-only install and no writable cache directory
        return njit(nogil=True)(function)


@_jit
def _mix(h, salt):
    h = h + np.uint64(salt) * _GOLDEN
    h = (h ^ (h >> _S30)) * _MIX_1
    h = (h ^ (h >> _S27)) * _MIX_2
    return h ^ (h >> _S31)


@_jit
def _find(keys, values, h, columns, m):
    """Append the column of hash ``h`` to ``columns[m:]`` if the table has it.

    0 marks an empty slot, so an n-gram hashing to 0 (one chance in 2**64) is never found, here as in the
    numpy path's table.
    """
    mask = np.uint64(len(keys) - 1)
    slot = h & mask
    while keys[slot] != 0:
        if keys[slot] == h:
            columns[m] = values[slot]
            return m + 1
        slot = (slot + np.uint64(1)) & mask
    return m


@_jit
def _char_columns(codes, start, end, low, high, keys, values, columns, m):
    for i in range(start, end):
        h = np.uint64(0)
        power = np.uint64(1)
        for k in range(min(high, end - i)):
            if codes[i + k] == 0:  # NUL separates texts in the numpy path: no n-gram spans one
                break
            h += np.uint64(codes[i + k]) * power
            power *= _P
            if k + 1 >= low:
                m = _find(keys, values, _mix(h, k + 1), columns, m)
    return m


@_jit
def _word_columns(codes, start, end, low, high, keys, values, columns, token_begin, token_end, m):
    tokens = 0
    i = start
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
        h = np.uint64(0)
        power = np.uint64(1)
        position = token_begin[t]
        for n in range(1, min(high, tokens - t) + 1):
            while position < token_end[t + n - 1]:  # extend the hash over the gap and the next token
                h += np.uint64(codes[position]) * power
                power *= _P
                position += 1
            if n >= low:
                m = _find(keys, values, _mix(h, _WORD_SALT + n), columns, m)
    return m


@_jit
def count(codes, starts, ends, part, words, lows, highs, keys, values):
    """Counts of each text's n-grams over its part's vocabulary, as CSR arrays with sorted columns.

    Parameters
    ----------
    codes : uint32 array
        Code points of all texts, laid out as their vectorisers hash them.
    starts, ends : int64 arrays
        Where each text begins and ends in ``codes``.
    part : int64 array
        The part (vectoriser) of each text.
    words, lows, highs : arrays, one entry per part
        Word n-grams (True) or character n-grams, and the smallest and largest n.
    keys, values : tuples of arrays, one of each per part
        Each part's vocabulary as a hash table (:class:`moderation.ngrams._HashTable`): n-gram hashes in
        slots of a power-of-two array (0 where empty), and the column in the same slot.

    Returns
    -------
    indptr : int32 array, columns : int32 array, counts : float32 array
    """
    n_texts = len(starts)
    capacity = 0
    for d in range(n_texts):
        capacity += (ends[d] - starts[d]) * (highs[part[d]] - lows[part[d]] + 1)
    found = np.empty(capacity, np.int64)
    token_begin = np.empty(len(codes) + 1, np.int64)
    token_end = np.empty(len(codes) + 1, np.int64)
    indptr = np.zeros(n_texts + 1, np.int32)
    columns = np.empty(capacity, np.int32)
    counts = np.empty(capacity, np.float32)
    out = 0
    for d in range(n_texts):
        p = part[d]
        if words[p]:
            m = _word_columns(codes, starts[d], ends[d], lows[p], highs[p], keys[p], values[p], found, token_begin,
                              token_end, 0)
        else:
            m = _char_columns(codes, starts[d], ends[d], lows[p], highs[p], keys[p], values[p], found, 0)
        ordered = np.sort(found[:m])
        k = 0
        while k < m:
            run = k
            while run < m and ordered[run] == ordered[k]:
                run += 1
            columns[out] = ordered[k]
            counts[out] = run - k
            out += 1
            k = run
        indptr[d + 1] = out
    return indptr, columns[:out], counts[:out]


def warm_up() -> None:
    """Compile (or load from numba's cache) :func:`count` for one, two and three parts, before any request."""
    codes = np.frombuffer(" ok ".encode("utf-32-le"), dtype=np.uint32)
    keys, values = np.zeros(16, dtype=np.uint64), np.full(16, -1, dtype=np.int32)
    for parts in (1, 2, 3):
        count(codes, np.zeros(parts, np.int64), np.full(parts, len(codes), np.int64), np.arange(parts),
              np.arange(parts) % 2 == 0, np.ones(parts, np.int64), np.full(parts, 2, np.int64),
              (keys,) * parts, (values,) * parts)

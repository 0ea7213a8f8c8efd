"""The compiled n-gram counter (moderation/model/_ngram_count.pyx) against the numpy path: the same CSR arrays, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.model import ngrams
from moderation.model.features import word_text
from moderation.model.ngrams import HashedNgramTfidf
from moderation.model.text import normalize
from moderation.model.topics import topic_words

TEXTS = ["you are an idiot", "the bridge opens monday", "an idiot idea", "", "x", "héllo wörld 😀 ok",
         "  spaced   out  ", "idiot\x00idiot", "\x00", "a b c d e f g", "ИДИОТ идиот", "ｆｕｌｌ ｗｉｄｔｈ"]


def _numpy_counts(parts):
    saved, ngrams.COMPILED_UP_TO = ngrams.COMPILED_UP_TO, -1
    try:
        return ngrams._count_together(parts)
    finally:
        ngrams.COMPILED_UP_TO = saved


def _assert_same(parts):
    compiled, numpy_path = ngrams._count_together(parts), _numpy_counts(parts)
    for mine, theirs in zip(compiled[:3], numpy_path[:3]):
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)
    assert list(compiled[3]) == list(numpy_path[3])


@pytest.fixture(scope="module")
def vectorisers():
    corpus = TEXTS * 3 + ["idiot idea", "you idiot", "monday bridge"]
    return (HashedNgramTfidf("char", (2, 5), min_df=1).fit(corpus), HashedNgramTfidf("word", (1, 2), min_df=1).fit(corpus),
            HashedNgramTfidf("word", (1, 3), min_df=1).fit(corpus))


def test_a_few_texts_take_the_compiled_path_and_many_do_not(vectorisers, monkeypatch):
    calls = []
    real = ngrams.count_compiled
    monkeypatch.setattr(ngrams, "count_compiled", lambda *args: calls.append(len(args[1])) or real(*args))
    ngrams._count_together([(vectorisers[0], ["a comment"])])
    long = ["a long comment " * 1000] * 100
    assert sum(map(len, long)) > ngrams.COMPILED_UP_TO
    ngrams._count_together([(vectorisers[0], long)])
    assert calls == [1]


@pytest.mark.parametrize("which", [0, 1, 2])
def test_each_kind_counts_as_the_numpy_path(vectorisers, which):
    _assert_same([(vectorisers[which], TEXTS)])
    for text in TEXTS:
        _assert_same([(vectorisers[which], [text])])


def test_several_parts_in_one_pass(vectorisers):
    char, word, trigram = vectorisers
    _assert_same([(word, TEXTS[:4]), (char, TEXTS), (trigram, TEXTS[2:])])
    _assert_same([(word, []), (char, ["idiot"]), (trigram, [])])


def test_an_empty_vocabulary_finds_nothing():
    empty = HashedNgramTfidf("char", (2, 3), min_df=5).fit(["ab", "cd"])
    assert len(empty.vocabulary_) == 0
    _assert_same([(empty, TEXTS)])


def test_the_default_models_vocabularies(default_registry):
    features = default_registry.load_current().pipeline[0]
    for text in TEXTS + ["You'd have to be an idiot to believe this bridge is safe after one load test."]:
        normalized = normalize(text)
        _assert_same([(features.words_, [word_text(normalized)]), (features.chars_, [normalized]),
                      (features.topics_.words_, [topic_words(normalized)])])


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.text(alphabet=st.sampled_from("ab cé\x00😀И"), max_size=30), max_size=6))
def test_any_texts_count_as_the_numpy_path(vectorisers, texts):
    char, word, trigram = vectorisers
    _assert_same([(char, texts), (word, texts), (trigram, texts)])

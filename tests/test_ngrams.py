import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from moderation.model.ngrams import HashedNgramTfidf, char_ngrams, word_ngrams

TEXTS = ["you are an idiot", "the bridge opens monday", "an idiot idea", "", "x", "héllo wörld 😀 ok"]


def _padded_char_analyzer(n_range):
    def analyze(text):
        padded = f" {text} "
        return [padded[i:i + n] for n in range(n_range[0], n_range[1] + 1) for i in range(len(padded) - n + 1)]
    return analyze


def test_char_ngrams_match_a_plain_python_count():
    docs, hashes = char_ngrams(TEXTS, (2, 4))
    reference = CountVectorizer(analyzer=_padded_char_analyzer((2, 4))).fit(TEXTS)
    counts = reference.transform(TEXTS)
    assert np.bincount(docs, minlength=len(TEXTS)).tolist() == counts.sum(axis=1).A1.tolist()
    assert len(np.unique(hashes)) == len(reference.vocabulary_)


def test_word_ngrams_match_a_plain_python_count():
    docs, hashes = word_ngrams(TEXTS, (1, 2))
    reference = CountVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), lowercase=False).fit(TEXTS)
    assert np.bincount(docs, minlength=len(TEXTS)).tolist() == reference.transform(TEXTS).sum(axis=1).A1.tolist()
    assert len(np.unique(hashes)) == len(reference.vocabulary_)


def test_hashes_do_not_depend_on_position_in_the_batch():
    _, alone = char_ngrams(["idiot"], (3, 3))
    _, inside = char_ngrams(["a long comment first", "idiot"], (3, 3))
    assert set(alone) <= set(inside)


@pytest.mark.parametrize("kind", ["char", "word"])
def test_tfidf_rows_are_unit_length_and_unknown_text_is_zero(kind):
    vectoriser = HashedNgramTfidf(kind, (1, 3) if kind == "word" else (2, 4), min_df=1).fit(TEXTS[:3])
    matrix = vectoriser.transform(TEXTS[:3] + ["qqq zzz"])
    norms = np.sqrt(matrix.multiply(matrix).sum(axis=1)).A1
    assert np.allclose(norms[:3], 1.0, atol=1e-5)
    assert norms[3] == pytest.approx(0.0)


def test_vocabulary_keeps_the_most_frequent_ngrams():
    vectoriser = HashedNgramTfidf("word", (1, 1), max_features=2, min_df=1).fit(["a a b", "a b", "a c", "d"])
    assert vectoriser.n_features_out_ == 2
    matrix = vectoriser.counts(["a b c d"])
    assert matrix.sum() == 2  # only "a" and "b" are in the vocabulary


def test_invalid_kind_is_refused():
    with pytest.raises(ValueError, match="kind"):
        HashedNgramTfidf("bytes").fit(["a"])


def test_hash_table_finds_every_key_and_nothing_else():
    from moderation.model.ngrams import _HashTable

    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(1, 2**63, size=50_000, dtype=np.int64).astype(np.uint64))
    # Force crowding: many keys sharing home slots.
    crowded = np.concatenate([keys, (keys[:2000] & np.uint64(0xFFFF)) + np.uint64(1 << 40)])
    crowded = np.unique(crowded)
    table = _HashTable(crowded)
    assert (table.lookup(crowded) == np.arange(len(crowded))).all()
    others = np.setdiff1d(rng.integers(1, 2**63, size=20_000, dtype=np.int64).astype(np.uint64), crowded)
    assert (table.lookup(others) == -1).all()


def test_vectorisers_together_give_each_ones_own_rows():
    from moderation.model.ngrams import rows_together

    words = HashedNgramTfidf("word", (1, 2), min_df=1).fit(TEXTS)
    unigrams = HashedNgramTfidf("word", (1, 1), min_df=1, sublinear_tf=False).fit(TEXTS[2:])
    chars = HashedNgramTfidf("char", (2, 4), min_df=1).fit(TEXTS)
    parts = [(words, TEXTS[::-1]), (chars, TEXTS[:2] + ["idiot idiot"]), (unigrams, ["", "an idiot an"])]
    for (vectoriser, texts), rows in zip(parts, rows_together(parts)):
        alone = vectoriser.transform(texts)
        assert rows.shape == alone.shape
        assert (rows.to_csr() != alone).nnz == 0


@pytest.mark.parametrize("kind, ngram_range", [("char", (2, 4)), ("word", (1, 2))])
def test_occurrences_place_each_known_ngram_and_share_its_columns_value(kind, ngram_range):
    vectoriser = HashedNgramTfidf(kind, ngram_range, min_df=1).fit(TEXTS)
    for text in TEXTS + ["an idiot idiot, you idiot", "nothing known here"]:
        begin, end, column, share = vectoriser.occurrences(text)
        row = vectoriser.transform([text]).toarray()[0]
        assert np.allclose(np.bincount(column, weights=share, minlength=len(row)), row, atol=1e-6)
        assert ((0 <= begin) & (begin <= end) & (end <= len(text))).all()  # padding alone is empty
        if kind == "word":
            for b, e, c in zip(begin, end, column):
                size = text[b:e].count(" ") + 1
                assert vectoriser._table().lookup(word_ngrams([text[b:e]], (size, size))[1]).tolist() == [c]

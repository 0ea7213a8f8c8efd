import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.model.text import (URL_TOKEN, USER_TOKEN, fold, normalize, normalize_with_offsets, stem, token_spans,
                                    tokenize)


@pytest.mark.parametrize("raw, expected", [
    ("You M0R0N", "you moron"),
    ("what a 1d10t!", "what a idiot!"),
    ("a$$hole", "asshole"),
    ("sh!t happens", "shit happens"),
    ("f*ck this", "fuck this"),
    ("f**k off", "fuck off"),
    ("b*tch please", "bitch please"),
    ("s h i t show", "shit show"),
    ("f.u.c.k you", "fuck you"),
    ("sooooo dumbbbbb", "soo dumbb"),
    ("what an ìdiot", "what an idiot"),
    ("Yоu аre аn іdiot", "you are an idiot"),  # Cyrillic о, а, а, і
    ("ＩＤＩＯＴ", "idiot"),
    ("Z̷̢a̵l̶g̸o̵ text", "zalgo text"),
])
def test_obfuscations_are_undone(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("I paid $40 for 3 tickets", "i paid $40 for 3 tickets"),
    ("the 1st and 2nd votes in 2024", "the 1st and 2nd votes in 2024"),
    ("wow!!! great", "wow!!! great"),
    ("a 4-day week", "a 4-day week"),
])
def test_ordinary_numbers_and_punctuation_survive(raw, expected):
    assert normalize(raw) == expected


def test_urls_mentions_and_emails_become_placeholders():
    text = normalize("@Mayor_Lee see https://example.org/plan?x=1 or mail me at jo.b@mail.example.com")
    assert text.split()[0] == USER_TOKEN
    assert URL_TOKEN in text and "xxemail" in text
    assert "example.org" not in text and "jo.b" not in text


def test_fold_removes_accents_and_lowercases():
    assert fold("Café CRÈME") == "cafe creme"


def test_tokenize_keeps_masked_words_and_splits_punctuation():
    assert tokenize("you're a f*ck-up, ok?") == ["you're", "a", "f*ck", "-", "up", ",", "ok", "?"]


def test_stem_is_porter():
    assert stem("councils") == "council" and stem("voting") == "vote"


def test_callables_pickle_for_use_in_fitted_vectorisers():
    for function in (normalize, tokenize, stem):
        assert pickle.loads(pickle.dumps(function)) is function


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_normalize_never_fails_and_is_idempotent_enough(text):
    once = normalize(text)
    assert isinstance(once, str)
    assert once == once.strip()
    assert "  " not in once
    assert all(isinstance(t, str) and t for t in tokenize(once))


@pytest.mark.parametrize("raw, pieces", [
    ("You M0R0N", ["Y", "o", "u", " ", "M", "0", "R", "0", "N"]),
    ("f*ck off", ["f", "*", "c", "k", " ", "o", "f", "f"]),
    ("s h i t!", ["s h i t"] * 4 + ["!"]),
    ("so  idioooot", ["s", "o", "  ", "i", "d", "i", "oooo", "oooo", "t"]),
    ("Yоu", ["Y", "о", "u"]),  # Cyrillic о
    ("ﬁne", ["ﬁ", "ﬁ", "n", "e"]),  # a ligature folds to two letters
    ("hi @bob", ["h", "i", " @bob", "@bob", "@bob", "@bob", "@bob", "@bob", "@bob"]),  # the space padding xxuser
])
def test_normalize_with_offsets_says_where_each_character_comes_from(raw, pieces):
    normalized, begins, ends = normalize_with_offsets(raw)
    assert normalized == normalize(raw)
    assert [raw[b:e] for b, e in zip(begins, ends)] == pieces


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.lists(st.sampled_from(["y0u", "m0r0n", "f*ck", "s h i t", "Ιdiot", "@x", "a.b.c",
                                                          "http://x.com", "oooo", " ", "\t", "é", "\u0301", "ß"]),
                                         max_size=12).map("".join))
def test_normalize_with_offsets_gives_normalize_and_ordered_stretches_of_the_raw_text(raw):
    normalized, begins, ends = normalize_with_offsets(raw)
    assert normalized == normalize(raw)
    assert len(begins) == len(ends) == len(normalized)
    assert all(0 <= b < e <= len(raw) for b, e in zip(begins, ends))
    assert begins == sorted(begins) and ends == sorted(ends)


def test_token_spans_are_where_the_tokens_lie():
    text = normalize("you're a f*ck-up, ok?")
    assert [text[b:e] for b, e in token_spans(text)] == tokenize(text)

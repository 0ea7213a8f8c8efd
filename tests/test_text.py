import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.model.text import URL_TOKEN, USER_TOKEN, fold, normalize, stem, tokenize


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

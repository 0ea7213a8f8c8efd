"""Negation and reported-speech scopes in the word path."""
import pytest

from moderation.model.features import word_text
from moderation.model.text import mark_scopes, normalize, tokenize


@pytest.mark.parametrize("raw, expected", [
    ("you are not an idiot, you missed it", "you are not neg_an neg_idiot , you missed it"),
    ("you aren't stupid but you are wrong", "you aren't neg_stupid but you are wrong"),
    ("he called her a liar", "he called rep_her rep_a rep_liar"),
    ("saying 'get lost' to anyone is rude", "saying ' rep_get rep_lost ' to anyone is rude"),
    ("you are an idiot", "you are an idiot"),
])
def test_scopes_mark_the_words_they_govern_and_stop_at_clause_ends(raw, expected):
    assert word_text(normalize(raw)) == expected


def test_a_scope_lasts_at_most_four_words():
    marked = mark_scopes(tokenize("never one two three four five"))
    assert marked == ["never", "neg_one", "neg_two", "neg_three", "neg_four", "five"]

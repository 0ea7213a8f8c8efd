"""Text normalisation and tokenisation for social text: look-alikes, accents, leetspeak, masking, elongation.

Every public function here is a module-level callable so fitted vectorisers that use them pickle cleanly.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from nltk.stem.porter import PorterStemmer
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

URL_TOKEN = "xxurl"
USER_TOKEN = "xxuser"
EMAIL_TOKEN = "xxemail"
# Function words (scikit-learn's English list and a few contractions) and the placeholders: words that say
# nothing of a comment's topic, and nothing of its toxicity on their own.
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | {URL_TOKEN, USER_TOKEN, EMAIL_TOKEN, "just", "like", "don't", "it's",
                                             "i'm"}

# Cyrillic and Greek letters that render like Latin ones, used to dodge word filters.
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g", "ո": "n",
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w", "ℓ": "l", "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ß": "ss",
    "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"',
})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "!": "i", "|": "l", "+": "t", "€": "e"})

_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|org|net|io|ly|co|info|biz)(?:/\S*)?\b")
_URL_HINTS = ("http", "www.", ".co", ".org", ".net", ".io", ".ly", ".info", ".biz")  # _URL_RE needs one of them
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_USER_RE = re.compile(r"(?<![\w@])@\w+")
# A run of three or more single letters split by spaces, dots or dashes: "s h i t", "f.u.c.k".
_SPACED_RE = re.compile(r"\b(?:[a-z][ .\-_*]){2,}[a-z]\b")
# A word that mixes letters with digits or symbols used as letters: "1d10t", "m0r0n", "a$$", "sh!t".
_LEET_RE = re.compile(r"(?<![\w$@!|+€])(?=[\w$@!|+€]*[a-z])(?=[\w$@!|+€]*[0134578$@!|+€])[\w$@!|+€]*[a-z0-9][\w$@!|+€]*")
_NUMERIC_WORD_RE = re.compile(r"\d+(?:st|nd|rd|th|s|k|m|am|pm|h|km|kg|mm|cm|ft|x)?")
_ELONGATION_RE = re.compile(r"(\w)\1\1+")  # \1{2,}, spelled so that re matches it faster
_MASKED_RE = re.compile(r"\b[a-z]+[*#%_]+[a-z]*\b|\b[a-z]*[*#%_]+[a-z]+\b")
_HAS_LEET_RE = re.compile(r"[a-z][0134578$@!|+€]|[0134578$@!|+€][a-z]")
_HAS_MASK_RE = re.compile(r"[a-z][*#%_]")
# Single characters the two patterns above need: searching for one is several times faster, and most texts lack both.
_LEET_CHAR_RE = re.compile(r"[0134578$@!|+€]")
_MASK_CHAR_RE = re.compile(r"[*#%_]")

# Common swear words, matched against masked spellings such as "f*ck" or "sh#t" to restore them.
_MASK_TARGETS = (
    "fuck", "fucking", "fucker", "fucked", "shit", "shitty", "bitch", "bastard", "asshole", "ass", "cunt",
    "dick", "damn", "crap", "piss", "pissed", "bullshit", "motherfucker", "whore", "slut", "prick", "wanker",
    "twat", "cock", "douche", "idiot", "moron", "stupid", "retard", "retarded", "hell",
)
_MASK_INDEX: dict[tuple[int, str, str], tuple[str, ...]] = {}
for _word in _MASK_TARGETS:
    _MASK_INDEX.setdefault((len(_word), _word[0], _word[-1]), ())
    _MASK_INDEX[(len(_word), _word[0], _word[-1])] += (_word,)

# NLTK's RegexpTokenizer compiles with the `regex` module, which measured 5x slower than `re` on this
# pattern; the tokeniser is the same pattern on `re` (NLTK still provides the stemmer).
_TOKEN_RE = re.compile(r"[a-z0-9_]+(?:['*#][a-z0-9_]+)*|[^\w\s]")
_STEMMER = PorterStemmer()


def _unmask(match: re.Match) -> str:
    word = match.group(0)
    candidates = _MASK_INDEX.get((len(word), word[0], word[-1]), ())
    for candidate in candidates:
        if all(a == b or a in "*#%_" for a, b in zip(word, candidate)):
            return candidate
    return word


def _unleet(match: re.Match) -> str:
    word = match.group(0)
    core = word.rstrip("!|+")
    if _NUMERIC_WORD_RE.fullmatch(core) or not any(c.isalpha() for c in core):
        return word
    return core.translate(_LEET) + word[len(core):]


def _join_spaced(match: re.Match) -> str:
    return re.sub(r"[ .\-_*]", "", match.group(0))


@lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower-case, map look-alike letters to Latin and drop accents and combining marks (zalgo)."""
    if text.isascii():  # every look-alike and quote mark above is outside ASCII
        return text.lower()
    text = text.translate(_CONFUSABLES).lower().translate(_CONFUSABLES)
    if text.isascii():
        return text
    return "".join(map(_fold_char, text))


def _has_at(text: str) -> bool:
    return "@" in text


def _has_url_hint(text: str) -> bool:
    return any(map(text.__contains__, _URL_HINTS))


def _may_be_leet(text: str) -> bool:
    return bool(_LEET_CHAR_RE.search(text) and _HAS_LEET_RE.search(text))


def _may_be_masked(text: str) -> bool:
    return bool(_MASK_CHAR_RE.search(text) and _HAS_MASK_RE.search(text))


# What normalize() does after folding, in order: (a cheap check that skips the pattern where it cannot match,
# or None; the pattern; its replacement). normalize_with_offsets() applies the same steps.
_SUBSTITUTIONS = (
    (_has_at, _EMAIL_RE, f" {EMAIL_TOKEN} "),
    (_has_at, _USER_RE, f" {USER_TOKEN} "),
    (_has_url_hint, _URL_RE, f" {URL_TOKEN} "),
    (None, _SPACED_RE, _join_spaced),
    (_may_be_leet, _LEET_RE, _unleet),
    (None, _ELONGATION_RE, r"\1\1"),
    (_may_be_masked, _MASKED_RE, _unmask),
)


def normalize(text: str) -> str:
    """Normalise a comment for the classifiers.

    Parameters
    ----------
    text : str
        The raw comment.

    Returns
    -------
    str
        Lower-cased, folded text with URLs, e-mail addresses and @mentions replaced by placeholders,
        leetspeak and masked swear words restored, spaced-out letters joined and elongations shortened.
    """
    text = fold(text)
    for applies, pattern, replacement in _SUBSTITUTIONS:
        if applies is None or applies(text):
            text = pattern.sub(replacement, text)
    return " ".join(text.split())


@lru_cache(maxsize=4096)
def normalize_recent(text: str) -> str:
    """:func:`normalize`, cached for the texts of a batch: a batch normalises each comment for its n-grams and
    again for its topic words (which are then cached as context for the comments after it)."""
    return normalize(text)


def normalize_with_offsets(text: str) -> tuple[str, list[int], list[int]]:
    """:func:`normalize`, and where in the raw text each character of its result comes from.

    A character that was only changed (folded, read as a letter, unmasked) comes from its own raw
    character; the characters of a replacement of another length (a placeholder, spaced letters joined, an
    elongation shortened) come from the whole stretch replaced; a space from the whitespace it stands for.

    Parameters
    ----------
    text : str
        The raw comment, as :func:`normalize` takes it.

    Returns
    -------
    normalized : str
        ``normalize(text)``.
    begins, ends : list of int
        For each character of ``normalized``, the raw characters ``text[begins[i]:ends[i]]`` it comes from.
    """
    normalized, begins, ends = _fold_with_offsets(text)
    for applies, pattern, replacement in _SUBSTITUTIONS:
        if applies is None or applies(normalized):
            normalized, begins, ends = _sub_with_offsets(pattern, replacement, normalized, begins, ends)
    words = normalized.split()
    joined_begins, joined_ends, position = [], [], 0
    for word in words:
        start = normalized.find(word, position)  # the next run of non-space characters
        if joined_begins:
            joined_begins.append(begins[position])
            joined_ends.append(ends[start - 1])
        joined_begins += begins[start:start + len(word)]
        joined_ends += ends[start:start + len(word)]
        position = start + len(word)
    return " ".join(words), joined_begins, joined_ends


def _fold_with_offsets(text: str) -> tuple[str, list[int], list[int]]:
    """:func:`fold` and the raw character each folded character comes from (folding works letter by letter)."""
    folded = fold(text)
    if text.isascii():
        return folded, list(range(len(text))), list(range(1, len(text) + 1))
    begins, ends = [], []
    for i, char in enumerate(text):
        size = len(fold(char))
        begins += [i] * size
        ends += [i + 1] * size
    if len(begins) != len(folded):  # lower-casing in context changed a length (no such letter is known)
        return folded, [0] * len(folded), [len(text)] * len(folded)
    return folded, begins, ends


def _sub_with_offsets(pattern: re.Pattern, replacement, text: str, begins: list[int],
                      ends: list[int]) -> tuple[str, list[int], list[int]]:
    """``pattern.sub(replacement, text)`` and the raw stretch of each of its characters."""
    pieces, new_begins, new_ends, last = [], [], [], 0
    for match in pattern.finditer(text):
        start, end = match.span()
        new = replacement(match) if callable(replacement) else match.expand(replacement)
        pieces += [text[last:start], new]
        new_begins += begins[last:start]
        new_ends += ends[last:start]
        if len(new) == end - start:
            new_begins += begins[start:end]
            new_ends += ends[start:end]
        else:
            first = begins[start] if start < len(begins) else (ends[-1] if ends else 0)
            new_begins += [first] * len(new)
            new_ends += [ends[end - 1] if end > start else first] * len(new)
        last = end
    if not pieces:
        return text, begins, ends
    pieces.append(text[last:])
    return "".join(pieces), new_begins + begins[last:], new_ends + ends[last:]


def tokenize(text: str) -> list[str]:
    """Split normalised text into word tokens and single punctuation marks."""
    return _TOKEN_RE.findall(text)


@lru_cache(maxsize=4096)
def tokenize_recent(text: str) -> tuple[str, ...]:
    """:func:`tokenize`, cached for the texts of a batch: a comment's tokens make both its word n-grams
    and its topic words."""
    return tuple(tokenize(text))


def token_spans(text: str) -> list[tuple[int, int]]:
    """Where each token of :func:`tokenize` lies in ``text``."""
    return [match.span() for match in _TOKEN_RE.finditer(text)]


NEGATED = "neg_"
REPORTED = "rep_"
SCOPE_LENGTH = 4
# Words that open a negation scope, and words that report or quote what someone else said.
_NEGATORS = frozenset({"not", "no", "never", "nobody", "none", "neither", "nor", "nothing", "noone", "without",
                       "cannot", "hardly"})
_REPORTERS = frozenset({"call", "calls", "called", "calling", "say", "says", "said", "saying", "wrote", "writing",
                        "yell", "yelled", "yelling", "shout", "shouted", "shouting", "tell", "told", "telling",
                        "label", "labelled", "labeled", "labelling", "accuse", "accused", "accusing", "mocked",
                        "mocking", "repeat", "repeating", "quote", "quoting"})
# Punctuation and words that close a scope: the next clause is asserted again.
_SCOPE_ENDS = frozenset({".", ",", ";", ":", "!", "?", "but", "just", "only", "because", "whatever", "(", ")", "-"})
_QUOTES = frozenset({'"', "'"})
_SCOPE_OPENERS = _NEGATORS | _REPORTERS | _QUOTES
_QUOTE, _END = "quote", "end"
# What a token does to scopes, in one lookup: opens a quotation or closes it, ends a scope, or opens one with
# the prefix it gives the words after it.
_ROLES = {**{t: _QUOTE for t in _QUOTES}, **{t: _END for t in _SCOPE_ENDS}, **{t: NEGATED for t in _NEGATORS},
          **{t: REPORTED for t in _REPORTERS}}


def mark_scopes(tokens: Sequence[str]) -> list[str]:
    """Prefix the words a negation governs with ``neg_``, and reported or quoted words with ``rep_``.

    "you are not an idiot" becomes "you are not neg_an neg_idiot": a scope opens after a negator (or a
    word ending in n't) or a reporting verb ("called", "saying") and holds for up to SCOPE_LENGTH words,
    until punctuation or a clause word such as "but". Words between quote marks are reported as well.
    """
    if _SCOPE_OPENERS.isdisjoint(tokens) and "n't" not in "".join(tokens):
        return list(tokens)  # no scope opens: every word stands as it is (most comments)
    marked, prefix, left, quoted = [], "", 0, False
    for token in tokens:
        role = _ROLES.get(token)
        if role is _QUOTE:
            quoted, left = not quoted, 0
            marked.append(token)
            continue
        if role is _END:
            left = 0
            marked.append(token)
            continue
        if quoted:
            marked.append(REPORTED + token)
        elif left:
            marked.append(prefix + token)
            left -= 1
        else:
            marked.append(token)
        if role is not None:
            prefix, left = role, SCOPE_LENGTH
        elif token.endswith("n't"):
            prefix, left = NEGATED, SCOPE_LENGTH
    return marked


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """The Porter stem of a token (cached: the same words recur in every comment)."""
    return _STEMMER.stem(token, to_lowercase=False)

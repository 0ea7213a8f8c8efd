"""Explanations of flags: the words whose n-grams carry a label, as spans of the raw text.

A label's log-odds are a sum over the feature columns (coefficient times value). The word and character
n-gram columns are n-grams of the text: each occurrence's term goes to the content words it covers, in
proportion to the characters it covers of each (a stop word's share goes to its neighbours in the same
n-gram, and an n-gram of stop words and punctuation only is dropped). A word is highlighted when its sum
reaches MIN_WORD_SCORE and MIN_SHARE_OF_TOP of the comment's best word; neighbours with only whitespace
between them make one span. A label is explained from EXPLAIN_FROM of its flag threshold: a comment that
comes close to a flag shows the words that brought it there.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..model.features import TextNgrams
from ..model.text import STOP_WORDS

# Chosen on the validation posts of the training side of the toxic spans corpus (benchmarks/spans.py).
MIN_WORD_SCORE = 0.6  # log-odds the word adds to the label
MIN_SHARE_OF_TOP = 0.5  # of the comment's highest-scoring word
# A label's words are explained from this share of its flag threshold (1 would explain flagged labels only:
# F1 0.481 against 0.591 for this, on the same held-out posts with the semantic model).
EXPLAIN_FROM = 0.25
SCORE_DECIMALS = 4  # of a span's reported score


def explain(features, classifier, text: str, labels: list[str], min_score: float = MIN_WORD_SCORE,
            min_share: float = MIN_SHARE_OF_TOP) -> list[dict]:
    """Spans of ``text`` that carry each label: its words whose n-grams add most to the label's log-odds.

    Parameters
    ----------
    features : CommentFeaturizer
        The fitted featuriser; only its word and character n-gram blocks are read.
    classifier : MultiLabelLogistic
        The fitted linear classifier (``coef_``: feature columns x labels).
    text : str
        The raw comment.
    labels : list of str
        The labels to explain, among ``classifier.labels_``.
    min_score, min_share : float
        A word is highlighted from ``min_score`` log-odds and ``min_share`` of the comment's best word.

    Returns
    -------
    list of dict
        ``label``, ``begin``, ``end`` (offsets into ``text``), ``text`` (``text[begin:end]``) and ``score``
        (the log-odds its words add to the label), by label and then highest score first.
    """
    if not labels:
        return []
    return score_words(features, classifier, text, labels).spans(min_score, min_share)


@dataclass(frozen=True)
class WordScores:
    """The content words of one text, where they lie in it, and what each adds to each label's log-odds."""

    text: str
    labels: list[str]
    begin: np.ndarray
    end: np.ndarray
    scores: np.ndarray  # words x labels

    def spans(self, min_score: float = MIN_WORD_SCORE, min_share: float = MIN_SHARE_OF_TOP) -> list[dict]:
        """The highlighted words of every label, neighbours joined (see :func:`explain`)."""
        spans = []
        for k, label in enumerate(self.labels):
            spans += self._label_spans(label, self.scores[:, k], min_score, min_share)
        return sorted(spans, key=lambda s: (s["label"], -s["score"]))

    def _label_spans(self, label: str, scores: np.ndarray, min_score: float, min_share: float) -> list[dict]:
        if not len(scores):
            return []
        # A word that adds nothing a reader could see (under the last reported decimal) is never highlighted.
        floor = max(min_score, min_share * float(scores.max()), 0.5 * 10.0 ** -SCORE_DECIMALS)
        picked = np.flatnonzero(scores >= floor)
        runs = []  # [begin, end, last word, score]
        for w in picked.tolist():
            begin, end, score = int(self.begin[w]), int(self.end[w]), float(scores[w])
            if runs and runs[-1][2] == w - 1 and (runs[-1][1] >= begin or self.text[runs[-1][1]:begin].isspace()):
                runs[-1] = [min(runs[-1][0], begin), max(runs[-1][1], end), w, runs[-1][3] + score]
            else:
                runs.append([begin, end, w, score])
        return [{"label": label, "begin": begin, "end": end, "text": self.text[begin:end], "score": round(score, SCORE_DECIMALS)}
                for begin, end, _, score in runs]


def score_words(features, classifier, text: str, labels: list[str]) -> WordScores:
    """The content words of ``text`` and their scores for ``labels`` (the arguments of :func:`explain`)."""
    ngrams = features.text_ngrams(text)
    words = content_words(ngrams)
    columns = [list(classifier.labels_).index(label) for label in labels]
    if not len(words):
        empty = np.zeros(0, dtype=np.int64)
        return WordScores(text, list(labels), empty, empty, np.zeros((0, len(labels))))
    terms = ngrams.share[:, None] * classifier.coef_[ngrams.column][:, columns]
    begin = ngrams.raw_begin[ngrams.token_begin[words]]
    end = ngrams.raw_end[ngrams.token_end[words] - 1]
    if not text.isascii():
        end = np.array([_past_marks(text, e) for e in end.tolist()])
    return WordScores(text, list(labels), begin, end, word_scores(ngrams, words, terms))


def content_words(ngrams: TextNgrams) -> np.ndarray:
    """Numbers of the tokens that may be highlighted: words with a letter that are not stop words."""
    normalized = ngrams.normalized
    return np.array([k for k, (b, e) in enumerate(zip(ngrams.token_begin.tolist(), ngrams.token_end.tolist()))
                     if _is_content(normalized[b:e])], dtype=np.int64)


@lru_cache(maxsize=65536)
def _is_content(token: str) -> bool:
    """A word with a letter, other than a stop word, a stop word with a clitic (you're) or a negated verb (isn't)."""
    if token in STOP_WORDS or not any(c.isalpha() for c in token):
        return False
    head, apostrophe, _ = token.partition("'")
    return not apostrophe or (head not in STOP_WORDS and not token.endswith("n't"))


def word_scores(ngrams: TextNgrams, words: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """Each content word's part of the n-gram terms (occurrences x labels), by the characters it covers.

    Returns an array of content words x labels.
    """
    begin, end = ngrams.token_begin[words], ngrams.token_end[words]
    owner = np.full(len(ngrams.normalized), -1, dtype=np.int64)
    owner[_ranges(begin, end)] = np.arange(len(words)).repeat(end - begin)
    sizes = ngrams.end - ngrams.begin
    word = owner[_ranges(ngrams.begin, ngrams.end)]
    covered = word >= 0
    occurrence = np.arange(len(sizes)).repeat(sizes)[covered]
    word = word[covered]
    characters = np.bincount(occurrence, minlength=len(sizes))  # of content words, in each occurrence
    weighted = terms[occurrence] / characters[occurrence, None]
    labels = terms.shape[1]
    cells = (word[:, None] * labels + np.arange(labels)).ravel()  # (word, label), row by row
    return np.bincount(cells, weights=weighted.ravel(), minlength=len(words) * labels).reshape(len(words), labels)


def _ranges(begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The positions ``begin[i]`` to ``end[i] - 1`` of every range, end to end."""
    sizes = end - begin
    return np.arange(int(sizes.sum())) + (begin - sizes.cumsum() + sizes).repeat(sizes)


def _past_marks(text: str, end: int) -> int:
    """``end`` moved past the combining marks that follow it (they belong to the last letter)."""
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    return end

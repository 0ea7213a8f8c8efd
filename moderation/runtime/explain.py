"""Explanations of flags: the words whose n-grams carry a label, as spans of the raw text.

A label's log-odds are a sum over the feature columns (coefficient times value). The word and character
n-gram columns are n-grams of the text: each occurrence's term goes to the content words it covers, in
proportion to the characters it covers of each (a stop word's share goes to its neighbours in the same
n-gram, and an n-gram of stop words and punctuation only is dropped). A word is highlighted when its sum
reaches MIN_WORD_SCORE and MIN_SHARE_OF_TOP of the comment's best word; neighbours with only whitespace
between them make one span.
"""
from __future__ import annotations

import unicodedata

import numpy as np

from ..model.features import TextNgrams
from ..model.text import STOP_WORDS

# Chosen on the validation posts of the training side of the toxic spans corpus (benchmarks/spans.py).
MIN_WORD_SCORE = 0.3  # log-odds the word adds to the label
MIN_SHARE_OF_TOP = 0.3  # of the comment's highest-scoring word


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
    ngrams = features.text_ngrams(text)
    words = content_words(ngrams)
    if not len(words):
        return []
    columns = [list(classifier.labels_).index(label) for label in labels]
    terms = ngrams.share[:, None] * classifier.coef_[ngrams.column][:, columns]
    scores = word_scores(ngrams, words, terms)
    spans = []
    for k, label in enumerate(labels):
        spans += _spans(text, ngrams, words, scores[:, k], label, min_score, min_share)
    return sorted(spans, key=lambda s: (s["label"], -s["score"]))


def content_words(ngrams: TextNgrams) -> np.ndarray:
    """Numbers of the tokens that may be highlighted: words with a letter that are not stop words."""
    normalized = ngrams.normalized
    return np.array([k for k, (b, e) in enumerate(zip(ngrams.token_begin.tolist(), ngrams.token_end.tolist()))
                     if _is_content(normalized[b:e])], dtype=np.int64)


def _is_content(token: str) -> bool:
    if token in STOP_WORDS or not any(c.isalpha() for c in token):
        return False
    head, apostrophe, _ = token.partition("'")
    return not apostrophe or (head not in STOP_WORDS and not token.endswith("n't"))  # you're, isn't


def word_scores(ngrams: TextNgrams, words: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """Each content word's part of the n-gram terms (occurrences x labels), by the characters it covers.

    Returns an array of content words x labels.
    """
    owner = np.full(len(ngrams.normalized), -1, dtype=np.int64)
    for w, k in enumerate(words.tolist()):
        owner[ngrams.token_begin[k]:ngrams.token_end[k]] = w
    sizes = ngrams.end - ngrams.begin
    occurrence = np.arange(len(sizes)).repeat(sizes)
    position = np.arange(len(occurrence)) - (sizes.cumsum() - sizes).repeat(sizes) + ngrams.begin.repeat(sizes)
    word = owner[position]
    covered = word >= 0
    occurrence, word = occurrence[covered], word[covered]
    characters = np.bincount(occurrence, minlength=len(sizes))  # of content words, in each occurrence
    weight = 1.0 / characters[occurrence]
    return np.stack([np.bincount(word, weights=terms[occurrence, k] * weight, minlength=len(words))
                     for k in range(terms.shape[1])], axis=1)


def _spans(text: str, ngrams: TextNgrams, words: np.ndarray, scores: np.ndarray, label: str, min_score: float,
           min_share: float) -> list[dict]:
    """One label's highlighted words, neighbours joined, as spans of the raw text."""
    picked = np.flatnonzero(scores >= max(min_score, min_share * float(scores.max())))
    spans = []
    for w in picked.tolist():
        k = int(words[w])
        begin = int(ngrams.raw_begin[ngrams.token_begin[k]])
        end = _past_marks(text, int(ngrams.raw_end[ngrams.token_end[k] - 1]))
        score = float(scores[w])
        if spans and spans[-1][2] == w - 1 and (text[spans[-1][1]:begin].isspace() or spans[-1][1] >= begin):
            previous_begin, previous_end, _, previous_score = spans[-1]
            spans[-1] = (min(previous_begin, begin), max(previous_end, end), w, previous_score + score)
        else:
            spans.append((begin, end, w, score))
    return [{"label": label, "begin": begin, "end": end, "text": text[begin:end], "score": round(score, 4)}
            for begin, end, _, score in spans]


def _past_marks(text: str, end: int) -> int:
    """``end`` moved past the combining marks that follow it (they belong to the last letter)."""
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    return end

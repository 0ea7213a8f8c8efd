"""Per-label thresholds chosen on a validation split: flag at best F1, review at high recall within a budget of
false alarms, reject only where the validation evidence vouches for high precision."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

from moderation.model.labels import REJECT_LABELS

REVIEW_RECALL = 0.80
# Review holds at most this share of a label's validation negatives, even when that costs recall: a rare label
# the model ranks poorly would otherwise hold nearly everything to reach its recall target.
REVIEW_MAX_FALSE_ALARMS = 0.03
# Off-topic only ever holds for review, and a moderator clears a wrongly held on-topic comment at a glance.
LABEL_MAX_FALSE_ALARMS = {"off_topic": 0.10}
REJECT_PRECISION = 0.90
MIN_REJECT_POSITIVES = 8  # fewer validation positives than this cannot vouch for a precision target
# A reject threshold needs the lower bound of precision's one-sided 95% Wilson interval, not just the point
# estimate, at the target: ten out of ten correct is not yet evidence of 90% precision (the bound is 0.79).
REJECT_CONFIDENCE_Z = 1.645
FALLBACK = {"flag": 0.5, "review": 0.5, "reject": None}


def _false_alarm_cut(negative_scores: np.ndarray, budget: float) -> float:
    """The lowest threshold (at the 4 decimals thresholds are stored with) that at most ``budget`` of the
    negatives reach."""
    allowed = int(np.floor(budget * len(negative_scores)))
    ranked = np.sort(negative_scores)[::-1]
    if allowed >= len(ranked):
        return 0.0
    return min(float(np.ceil(np.nextafter(ranked[allowed], np.inf) * 1e4) / 1e4), 1.0)


def _wilson_lower(successes: np.ndarray, trials: np.ndarray, z: float = REJECT_CONFIDENCE_Z) -> np.ndarray:
    """Lower end of the Wilson score interval of a proportion."""
    trials = np.maximum(trials, 1)
    share = successes / trials
    centre = share + z * z / (2 * trials)
    spread = z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials))
    return (centre - spread) / (1 + z * z / trials)


def choose(y_true: np.ndarray, scores: np.ndarray, label: str, review_recall: float = REVIEW_RECALL,
           reject_precision: float = REJECT_PRECISION, review_max_false_alarms: float | None = None) -> dict:
    """Thresholds for one label from validation labels (soft labels binarised at 0.5) and scores.

    Parameters
    ----------
    y_true : ndarray
        Validation labels; NaN rows are ignored.
    scores : ndarray
        The model's probabilities for the same rows.
    label : str
        The label's name (only labels in ``REJECT_LABELS`` get a reject threshold).
    review_recall : float
        Review holds at least this share of the positives, unless that breaks the false-alarm budget.
    reject_precision : float
        Precision a reject threshold must reach on validation.
    review_max_false_alarms : float, optional
        Most of the negatives that review may hold; the review threshold is the higher of the two. Default:
        ``LABEL_MAX_FALSE_ALARMS`` for the label, else ``REVIEW_MAX_FALSE_ALARMS``.

    Returns
    -------
    dict
        ``flag``, ``review``, ``reject`` (``None`` where no threshold's precision reaches the target with
        95% confidence) and ``basis``: how many validation rows and positives they were
        chosen on. ``review <= flag <= reject`` always holds.
    """
    if review_max_false_alarms is None:
        review_max_false_alarms = LABEL_MAX_FALSE_ALARMS.get(label, REVIEW_MAX_FALSE_ALARMS)
    known = ~np.isnan(y_true)
    truth = y_true[known] >= 0.5
    scores = scores[known]
    if truth.sum() < 3 or (~truth).sum() < 3:
        return {**FALLBACK, "basis": {"rows": int(known.sum()), "positives": int(truth.sum()), "fallback": True}}
    precision, recall, cut = precision_recall_curve(truth, scores)
    precision, recall = precision[:-1], recall[:-1]
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    flag = float(cut[int(np.argmax(f1))])
    reaching = np.flatnonzero(recall >= review_recall)
    review = min(float(cut[reaching[-1]]) if len(reaching) else float(cut[0]), flag)
    review = max(review, _false_alarm_cut(scores[~truth], review_max_false_alarms))
    flag = max(flag, review)  # only the false-alarm budget lifts review above flag; flag follows it
    reject = None
    if label in REJECT_LABELS and truth.sum() >= MIN_REJECT_POSITIVES:
        held = len(scores) - np.searchsorted(np.sort(scores), cut)  # rows at or above each cut
        precise = np.flatnonzero(_wilson_lower(precision * held, held) >= reject_precision)
        if len(precise):
            reject = max(float(cut[precise[0]]), flag)
    return {"flag": round(flag, 4), "review": round(review, 4), "reject": None if reject is None else round(reject, 4),
            "basis": {"rows": int(known.sum()), "positives": int(truth.sum()), "review_recall": review_recall,
                      "review_max_false_alarms": review_max_false_alarms, "reject_precision": reject_precision,
                      "review_recall_reached": round(float((scores[truth] >= review).mean()), 4),
                      "review_false_alarms": round(float((scores[~truth] >= review).mean()), 4)}}

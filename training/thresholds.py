"""Per-label thresholds chosen on held-out scores: flag at best F1, review at high recall within a budget of false
alarms, reject only where the evidence vouches for high precision; a label with too few positives decides nothing."""
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
# Below this many positives one comment moves recall by over 3 points: the cuts would be set by a few cases.
MIN_DECIDING_POSITIVES = 30
# A label that does not decide flags where its probability says "more likely than not": no cut can be tuned.
NOT_DECIDING_FLAG = 0.5
# A reject threshold needs the lower bound of precision's one-sided 95% Wilson interval, not just the point
# estimate, at the target: ten out of ten correct is not yet evidence of 90% precision (the bound is 0.79).
REJECT_CONFIDENCE_Z = 1.645


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
           reject_precision: float = REJECT_PRECISION, review_max_false_alarms: float | None = None,
           min_positives: int = MIN_DECIDING_POSITIVES) -> dict:
    """Thresholds for one label from held-out labels (soft labels binarised at 0.5) and scores.

    Parameters
    ----------
    y_true : ndarray
        Held-out labels; NaN rows are ignored.
    scores : ndarray
        The model's probabilities for the same rows; NaN rows (no model scored them) are ignored.
    label : str
        The label's name (only labels in ``REJECT_LABELS`` get a reject threshold).
    review_recall : float
        Review holds at least this share of the positives, unless that breaks the false-alarm budget.
    reject_precision : float
        Precision a reject threshold must reach on the held-out rows.
    review_max_false_alarms : float, optional
        Most of the negatives that review may hold; the review threshold is the higher of the two. Default:
        ``LABEL_MAX_FALSE_ALARMS`` for the label, else ``REVIEW_MAX_FALSE_ALARMS``.
    min_positives : int
        Fewer positives (or negatives) than this and the label does not decide: ``review`` and ``reject``
        are ``None``, ``flag`` is ``NOT_DECIDING_FLAG`` and ``decides`` is false.

    Returns
    -------
    dict
        ``flag``, ``review``, ``reject`` (``None`` where no threshold's precision reaches the target with
        95% confidence), ``decides`` and ``basis``: how many rows and positives they were chosen on, and why a
        label does not decide. ``review <= flag <= reject`` holds for a deciding label.
    """
    if review_max_false_alarms is None:
        review_max_false_alarms = LABEL_MAX_FALSE_ALARMS.get(label, REVIEW_MAX_FALSE_ALARMS)
    known = ~np.isnan(y_true) & ~np.isnan(scores)
    truth = y_true[known] >= 0.5
    scores = scores[known]
    positives, negatives = int(truth.sum()), int((~truth).sum())
    basis = {"rows": int(known.sum()), "positives": positives, "min_positives": min_positives}
    if positives < min_positives or negatives < min_positives:
        scarce = "positives" if positives < min_positives else "negatives"
        return {"flag": NOT_DECIDING_FLAG, "review": None, "reject": None, "decides": False,
                "basis": {**basis, "decides": False,
                          "why": f"{min(positives, negatives)} {scarce}, fewer than the {min_positives} a threshold "
                                 f"needs"}}
    precision, recall, cut = precision_recall_curve(truth, scores)
    precision, recall = precision[:-1], recall[:-1]
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    flag = float(cut[int(np.argmax(f1))])
    reaching = np.flatnonzero(recall >= review_recall)
    review = min(float(cut[reaching[-1]]) if len(reaching) else float(cut[0]), flag)
    review = max(review, _false_alarm_cut(scores[~truth], review_max_false_alarms))
    flag = max(flag, review)  # only the false-alarm budget lifts review above flag; flag follows it
    reject = None
    if label in REJECT_LABELS:
        held = len(scores) - np.searchsorted(np.sort(scores), cut)  # rows at or above each cut
        precise = np.flatnonzero(_wilson_lower(precision * held, held) >= reject_precision)
        if len(precise):
            reject = max(float(cut[precise[0]]), flag)
    return {"flag": round(flag, 4), "review": round(review, 4), "reject": None if reject is None else round(reject, 4),
            "decides": True,
            "basis": {**basis, "decides": True, "review_recall": review_recall,
                      "review_max_false_alarms": review_max_false_alarms, "reject_precision": reject_precision,
                      "review_recall_reached": round(float((scores[truth] >= review).mean()), 4),
                      "review_false_alarms": round(float((scores[~truth] >= review).mean()), 4)}}

"""Per-label thresholds chosen on a validation split: flag at best F1, review at high recall, reject at high precision."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

REVIEW_RECALL = 0.80
REJECT_PRECISION = 0.90
NEVER_REJECT = ("off_topic", "profanity")
MIN_REJECT_POSITIVES = 8  # fewer validation positives than this cannot vouch for a precision target
FALLBACK = {"flag": 0.5, "review": 0.5, "reject": None}


def choose(y_true: np.ndarray, scores: np.ndarray, label: str, review_recall: float = REVIEW_RECALL,
           reject_precision: float = REJECT_PRECISION) -> dict:
    """Thresholds for one label from validation labels (soft labels binarised at 0.5) and scores.

    Parameters
    ----------
    y_true : ndarray
        Validation labels; NaN rows are ignored.
    scores : ndarray
        The model's probabilities for the same rows.
    label : str
        The label's name (off-topic and profanity never get a reject threshold).

    Returns
    -------
    dict
        ``flag``, ``review``, ``reject`` (``None`` where no threshold reaches the precision target) and
        ``basis``: how many validation rows and positives they were chosen on.
    """
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
    review = float(cut[reaching[-1]]) if len(reaching) else float(cut[0])
    reject = None
    if label not in NEVER_REJECT and truth.sum() >= MIN_REJECT_POSITIVES:
        precise = np.flatnonzero((precision >= reject_precision) & (recall > 0))
        if len(precise):
            reject = max(float(cut[precise[0]]), flag)
    review = min(review, flag)
    return {"flag": round(flag, 4), "review": round(review, 4), "reject": None if reject is None else round(reject, 4),
            "basis": {"rows": int(known.sum()), "positives": int(truth.sum()), "review_recall": review_recall,
                      "reject_precision": reject_precision}}

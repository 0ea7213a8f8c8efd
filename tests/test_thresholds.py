"""Threshold choice: the review budget of false alarms, the confidence a reject threshold needs, and the labels
with too few positives to decide."""
import numpy as np
import pytest

from training import thresholds


def test_review_never_holds_more_than_its_budget_of_negatives():
    rng = np.random.default_rng(1)
    truth = np.r_[np.ones(40), np.zeros(1960)]
    scores = np.r_[rng.uniform(0.0, 1.0, 40), rng.uniform(0.0, 0.9, 1960)]  # a rare label ranked poorly
    chosen = thresholds.choose(truth, scores, "threat")
    false_alarms = (scores[truth == 0] >= chosen["review"]).mean()
    assert false_alarms <= thresholds.REVIEW_MAX_FALSE_ALARMS
    assert chosen["basis"]["review_recall_reached"] < thresholds.REVIEW_RECALL  # the budget won over recall
    assert chosen["review"] <= chosen["flag"]


def test_off_topic_has_a_wider_budget_than_toxicity():
    rng = np.random.default_rng(2)
    truth = np.r_[np.ones(100), np.zeros(900)]
    scores = np.r_[rng.normal(0.6, 0.2, 100), rng.normal(0.4, 0.2, 900)]
    assert thresholds.choose(truth, scores, "off_topic")["review"] < thresholds.choose(truth, scores, "toxic")["review"]


def test_reject_needs_more_than_a_handful_of_correct_rows():
    truth = np.r_[np.ones(10), np.zeros(200)]
    scores = np.r_[np.linspace(0.91, 1.0, 10), np.linspace(0.0, 0.5, 200)]
    assert thresholds.choose(truth, scores, "toxic")["reject"] is None  # 10 of 10: precision bound 0.79
    truth = np.r_[np.ones(60), np.zeros(200)]
    scores = np.r_[np.linspace(0.61, 1.0, 60), np.linspace(0.0, 0.5, 200)]
    assert thresholds.choose(truth, scores, "toxic")["reject"] is not None


def _separable(positives: int, negatives: int = 500) -> tuple[np.ndarray, np.ndarray]:
    return np.r_[np.ones(positives), np.zeros(negatives)], np.r_[np.linspace(0.6, 1.0, positives),
                                                                   np.linspace(0.0, 0.5, negatives)]


def test_a_label_with_too_few_positives_does_not_decide_and_says_why():
    chosen = thresholds.choose(*_separable(thresholds.MIN_DECIDING_POSITIVES - 1), "threat")
    assert chosen["decides"] is False and chosen["review"] is None and chosen["reject"] is None
    assert chosen["flag"] == thresholds.NOT_DECIDING_FLAG
    assert chosen["basis"] == {"rows": 529, "positives": 29, "min_positives": 30, "decides": False,
                               "why": "29 positives, fewer than the 30 a threshold needs"}
    enough = thresholds.choose(*_separable(thresholds.MIN_DECIDING_POSITIVES), "threat")
    assert enough["decides"] is True and enough["basis"]["decides"] is True
    assert enough["review"] is not None and enough["reject"] is not None


def test_too_few_negatives_do_not_decide_either():
    truth, scores = _separable(200, negatives=10)
    chosen = thresholds.choose(truth, scores, "toxic")
    assert chosen["decides"] is False and chosen["basis"]["why"].startswith("10 negatives")


@pytest.mark.parametrize("minimum", [3, 100])
def test_the_minimum_is_a_parameter(minimum):
    assert thresholds.choose(*_separable(50), "toxic", min_positives=minimum)["decides"] is (50 >= minimum)


def test_rows_without_a_score_are_left_out():
    """A fold whose model lacked the label leaves its rows unscored (NaN); they count neither way."""
    truth, scores = _separable(40)
    scores[:15] = np.nan
    chosen = thresholds.choose(truth, scores, "toxic")
    assert chosen["basis"]["positives"] == 25 and chosen["decides"] is False

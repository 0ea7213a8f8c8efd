"""Threshold choice: the review budget of false alarms and the confidence a reject threshold needs."""
import numpy as np

from training import thresholds


def test_review_never_holds_more_than_its_budget_of_negatives():
    rng = np.random.default_rng(1)
    truth = np.r_[np.ones(20), np.zeros(980)]
    scores = np.r_[rng.uniform(0.0, 1.0, 20), rng.uniform(0.0, 0.9, 980)]  # a rare label ranked poorly
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

import pytest

from moderation.model.labels import LABELS, REJECT_LABELS
from moderation.runtime.policy import APPROVE, REJECT, REVIEW, Policy, PolicyError, unsupported_language

THRESHOLDS = {
    "toxic": {"flag": 0.5, "review": 0.3, "reject": 0.8},
    "profanity": {"flag": 0.5, "review": 0.4, "reject": None},
    "off_topic": {"flag": 0.6, "review": 0.4, "reject": 0.5},
}


def test_reject_needs_a_rejecting_label_over_its_reject_threshold():
    decision = Policy.from_model(THRESHOLDS).decide({"toxic": 0.9, "profanity": 0.1, "off_topic": 0.1})
    assert decision.decision == REJECT
    assert decision.reasons[0] == {"label": "toxic", "score": 0.9, "threshold": 0.8, "action": "reject"}
    assert decision.flags == ["toxic"]


def test_off_topic_alone_never_rejects_even_over_a_reject_threshold():
    decision = Policy.from_model(THRESHOLDS).decide({"toxic": 0.0, "profanity": 0.0, "off_topic": 0.99})
    assert decision.decision == REVIEW
    assert decision.reasons[0]["label"] == "off_topic"


def test_grey_zone_is_held_and_clean_is_approved():
    policy = Policy.from_model(THRESHOLDS)
    assert policy.decide({"toxic": 0.35, "profanity": 0.0, "off_topic": 0.0}).decision == REVIEW
    clean = policy.decide({"toxic": 0.1, "profanity": 0.1, "off_topic": 0.1})
    assert (clean.decision, clean.flags, clean.reasons) == (APPROVE, [], [])


def test_overrides_make_an_article_stricter():
    strict = Policy.from_model(THRESHOLDS).with_overrides({"toxic": {"review": 0.05, "reject": 0.5}})
    assert strict.decide({"toxic": 0.1, "profanity": 0, "off_topic": 0}).decision == REVIEW
    assert strict.decide({"toxic": 0.6, "profanity": 0, "off_topic": 0}).decision == REJECT


@pytest.mark.parametrize("overrides, message", [
    ({"sarcasm": {"review": 0.1}}, "unknown label"),
    ({"toxic": {"review": 1.5}}, r"\[0, 1\]"),
    ({"toxic": {"block": 0.5}}, "unknown threshold"),
    ({"toxic": {"review": True}}, r"\[0, 1\]"),
    ({"toxic": 0.5}, "object"),
])
def test_bad_overrides_are_refused(overrides, message):
    with pytest.raises(PolicyError, match=message):
        Policy.from_model(THRESHOLDS, overrides)


def test_unsupported_language_is_held_with_a_reason():
    decision = unsupported_language("de")
    assert decision.decision == REVIEW and decision.flags == ["unsupported_language"]
    assert decision.reasons[0]["language"] == "de"


def test_a_model_says_which_of_its_labels_may_reject(tiny_registry):
    from pathlib import Path

    from moderation.runtime.artifact import load
    from moderation.runtime.scorer import Scorer

    artifact = tiny_registry.load_current()
    assert artifact.labels == ["toxic", "insult", "off_topic"]
    assert artifact.reject_labels == ("toxic", "insult")
    assert Scorer(artifact).policy.reject_labels == ("toxic", "insult")
    older = load(Path(__file__).parent / "fixtures" / "premove")  # saved before models recorded them
    assert older.reject_labels == REJECT_LABELS


def test_a_policy_rejects_only_on_the_labels_its_model_lets_reject():
    policy = Policy.from_model(THRESHOLDS, reject_labels=("off_topic",))
    assert policy.decide({"toxic": 0.99, "profanity": 0.0, "off_topic": 0.0}).decision == REVIEW
    assert policy.decide({"toxic": 0.0, "profanity": 0.0, "off_topic": 0.99}).decision == REJECT


@pytest.mark.parametrize("label", LABELS)
def test_training_gives_a_reject_threshold_only_to_rejecting_labels(label):
    import numpy as np

    from training import thresholds

    truth = np.array([1.0] * 40 + [0.0] * 40)
    scores = np.concatenate([np.linspace(0.9, 1.0, 40), np.linspace(0.0, 0.1, 40)])  # perfectly separated
    reject = thresholds.choose(truth, scores, label)["reject"]
    assert (reject is not None) == (label in REJECT_LABELS)

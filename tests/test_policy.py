import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_a_flag_threshold_cannot_be_null():
    with pytest.raises(PolicyError, match=r"toxic\.flag must be a number in \[0, 1\]$"):
        Policy.from_model(THRESHOLDS, {"toxic": {"flag": None}})


_THRESHOLD = st.floats(0, 1) | st.sampled_from([0.0, 0.3, 0.5, 1.0])
_LIMITS = st.fixed_dictionaries({"flag": _THRESHOLD, "review": st.none() | _THRESHOLD,
                                 "reject": st.none() | _THRESHOLD})
_LABELS = ("toxic", "insult", "profanity", "off_topic")


@settings(max_examples=500, deadline=None)
@given(thresholds=st.fixed_dictionaries({label: _LIMITS for label in _LABELS}),
       scores=st.fixed_dictionaries({label: _THRESHOLD for label in _LABELS}))
def test_every_hold_and_rejection_says_why(thresholds, scores):
    """Held and rejected comments carry a reason per label that crossed a threshold; approved ones none."""
    decision = Policy.from_model(thresholds).decide(scores)
    assert (decision.decision == APPROVE) == (not decision.reasons)
    for reason in decision.reasons:
        assert scores[reason["label"]] >= reason["threshold"] == thresholds[reason["label"]][reason["action"]]
    if decision.decision == REJECT:
        assert any(r["action"] == REJECT and r["label"] in REJECT_LABELS for r in decision.reasons)
    assert decision.flags == [label for label in scores if scores[label] >= thresholds[label]["flag"]]


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


NOT_DECIDING = {"flag": 0.5, "review": None, "reject": None, "decides": False}
WITH_A_QUIET_LABEL = {**{label: {**limits, "decides": True} for label, limits in THRESHOLDS.items()},
                      "severe_toxic": NOT_DECIDING}


def test_a_label_that_does_not_decide_flags_but_never_holds():
    decision = Policy.from_model(WITH_A_QUIET_LABEL).decide(
        {"toxic": 0.1, "severe_toxic": 0.99, "profanity": 0.0, "off_topic": 0.0})
    assert (decision.decision, decision.flags, decision.reasons) == (APPROVE, ["severe_toxic"], [])


def test_a_label_that_does_not_decide_is_not_a_reason_beside_one_that_does():
    decision = Policy.from_model(WITH_A_QUIET_LABEL).decide(
        {"toxic": 0.35, "severe_toxic": 0.99, "profanity": 0.0, "off_topic": 0.0})
    assert decision.decision == REVIEW and decision.flags == ["severe_toxic"]
    assert [reason["label"] for reason in decision.reasons] == ["toxic"]


def test_overrides_may_set_only_the_flag_of_a_label_that_does_not_decide():
    policy = Policy.from_model(WITH_A_QUIET_LABEL)
    for key in ("review", "reject"):
        with pytest.raises(PolicyError, match="'severe_toxic' does not decide"):
            policy.with_overrides({"severe_toxic": {key: 0.1}})
    stricter = policy.with_overrides({"severe_toxic": {"flag": 0.2, "review": None}})
    decision = stricter.decide({"toxic": 0.0, "severe_toxic": 0.3, "profanity": 0.0, "off_topic": 0.0})
    assert (decision.decision, decision.flags) == (APPROVE, ["severe_toxic"])


def test_applicable_keeps_what_this_model_can_take_of_a_stored_policy():
    policy = Policy.from_model(WITH_A_QUIET_LABEL)
    stored = {"toxic": {"review": 0.1}, "severe_toxic": {"review": 0.1, "flag": 0.3}, "sarcasm": {"review": 0.2}}
    assert policy.applicable(stored) == {"toxic": {"review": 0.1}, "severe_toxic": {"flag": 0.3}}
    policy.with_overrides(policy.applicable(stored))  # accepted as a whole


def test_models_without_decides_decide_on_every_label():
    """Thresholds from before labels could stop deciding have no ``decides``: every label decides, as it did."""
    decision = Policy.from_model(THRESHOLDS).decide({"toxic": 0.0, "profanity": 0.45, "off_topic": 0.0})
    assert decision.decision == REVIEW and decision.reasons[0]["label"] == "profanity"


_LABELS = ("toxic", "severe_toxic", "insult", "profanity", "off_topic")
_unit = st.integers(0, 10_000).map(lambda n: n / 10_000)  # scores and thresholds have 4 decimals


@st.composite
def _thresholds(draw):
    """Any thresholds, even numbers beside ``"decides": false`` (as in metadata edited by hand)."""
    return {label: {"flag": draw(_unit), "review": draw(st.none() | _unit), "reject": draw(st.none() | _unit),
                    "decides": draw(st.booleans())} for label in _LABELS}


@given(model=_thresholds(), scores=st.fixed_dictionaries({label: _unit for label in _LABELS}),
       overrides=st.dictionaries(st.sampled_from(_LABELS), st.fixed_dictionaries({}, optional={
           "flag": _unit, "review": st.none() | _unit, "reject": st.none() | _unit}), max_size=3))
def test_holds_always_have_reasons_and_only_deciding_labels_are_reasons(model, scores, overrides):
    base = Policy.from_model(model)
    policy = base.with_overrides(base.applicable(overrides))
    decision = policy.decide(scores)
    deciding = {label for label, limits in model.items() if limits["decides"]}
    assert all(reason["label"] in deciding for reason in decision.reasons)
    assert (decision.decision == APPROVE) == (decision.reasons == [])
    if decision.decision == REJECT:
        assert any(reason["action"] == REJECT for reason in decision.reasons)
    for reason in decision.reasons:
        assert reason["score"] >= reason["threshold"]
    alone = {label: score for label, score in scores.items() if label not in deciding}
    assert policy.decide(alone).decision == APPROVE  # whatever they score, labels that do not decide never hold

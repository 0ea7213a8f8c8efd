"""Functional tests of the default model: a pass-rate floor per capability on hand-written cases.

Each floor is the pass rate measured when it was set (default model from the bundled corpus, seed 0) minus
about ten points, so a regression breaks it while small shifts do not; benchmarks/README.md has the
measurements. Raise a floor when the model gets better.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from moderation.runtime.policy import Decision
from moderation.runtime.scorer import Result, Scorer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not an installed package
from benchmarks.functional import passes, run_cases, train_default_model  # noqa: E402
from benchmarks.functional_cases import CAPABILITIES, Case  # noqa: E402

FLOORS = {  # about ten points under the default model's pass rates (benchmarks/results/functional.md)
    "identity terms (neutral, positive)": 0.90,
    "counter-speech and reported abuse": 0.62,
    "negation": 0.58,
    "sharp civil disagreement": 0.66,
    "obfuscated abuse": 0.76,
    "threats (direct and veiled)": 0.82,
    "insults without profanity": 0.90,
    "profanity that is not an attack": 0.86,
    "off-topic drift": 0.78,
    "generic reactions under a story": 0.90,
    "off-topic drift in a thread": 0.82,
    "generic reactions in a thread": 0.78,
}
THRESHOLDS = {label: {"flag": 0.5, "review": 0.3, "reject": 0.9} for label in ("toxic", "insult", "off_topic")}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return run_cases(Scorer(train_default_model(tmp_path_factory.mktemp("models"))))


def test_every_capability_has_a_floor():
    assert set(FLOORS) == set(CAPABILITIES)


@pytest.mark.slow  # trains the default model
@pytest.mark.parametrize("capability", list(FLOORS))
def test_pass_rate_stays_above_floor(report, capability):
    entry = report[capability]
    failing = "\n".join(f"  expected {f['expect']}, got {f['decision']} {f['flags']}: {f['text']}"
                        for f in entry["failures"])
    assert entry["pass_rate"] >= FLOORS[capability], (
        f"{capability}: {entry['passed']}/{entry['cases']} passed, below the floor of {FLOORS[capability]:.0%}\n"
        f"{failing}")


def _result(decision: str, flags: list[str], **scores: float) -> Result:
    return Result({"toxic": 0.0, "insult": 0.0, "off_topic": 0.0, **scores}, Decision(decision, flags))


@pytest.mark.parametrize(("case", "result", "expected"), [
    (Case("a", "not_toxic"), _result("approve", [], toxic=0.29), True),
    (Case("a", "not_toxic"), _result("review", [], toxic=0.30), False),
    (Case("a", "not_toxic"), _result("reject", ["off_topic"]), False),
    (Case("a", "toxic"), _result("review", ["toxic"], toxic=0.5), True),
    (Case("a", "toxic"), _result("review", ["insult"], insult=0.9), False),
    (Case("a", "threat"), _result("review", ["toxic"], toxic=0.9), False),
    (Case("a", "profanity_not_attack"), _result("review", ["profanity"]), True),
    (Case("a", "profanity_not_attack"), _result("review", ["insult"], insult=0.6), False),
    (Case("a", "profanity_not_attack"), _result("reject", ["toxic"], toxic=0.95), False),
    (Case("a", "off_topic", "article"), _result("review", [], off_topic=0.3), True),
    (Case("a", "off_topic", "article"), _result("approve", [], off_topic=0.29), False),
    (Case("a", "on_topic", "article"), _result("approve", [], off_topic=0.29), True),
    (Case("a", "on_topic", "article"), _result("review", [], off_topic=0.3), False),
])
def test_expectations_read_flags_and_review_thresholds(case, result, expected):
    assert passes(case, result, THRESHOLDS) is expected


def test_cases_reject_unknown_expectations_and_misplaced_articles():
    with pytest.raises(ValueError, match="unknown expectation"):
        Case("a", "rude")
    with pytest.raises(ValueError, match="only off_topic/on_topic"):
        Case("a", "toxic", "article")
    with pytest.raises(ValueError, match="only off_topic/on_topic"):
        Case("a", "off_topic")

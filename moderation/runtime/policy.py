"""The decision policy: scores and thresholds in, approve / review / reject out, with the reasons why.

A label whose thresholds say ``"decides": false`` (too few positives to choose them on) is scored and may be
flagged, but never holds or rejects and is never a reason, not even beside a deciding label's: a threshold
from a handful of cases explains nothing. Overrides may change its flag threshold only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidInput
from ..model.labels import REJECT_LABELS

APPROVE, REVIEW, REJECT = "approve", "review", "reject"
DECISIONS = (APPROVE, REVIEW, REJECT)
UNSUPPORTED_LANGUAGE = "unsupported_language"
THRESHOLD_NAMES = ("flag", "review", "reject")
DEFAULT_FLAG = 0.5  # a label whose thresholds name no flag is flagged from "more likely than not"


class PolicyError(InvalidInput, ValueError):
    """A policy override names an unknown label, an out-of-range threshold, or holds on a label that does not
    decide."""


@dataclass(frozen=True)
class Decision:
    decision: str
    flags: list[str]
    reasons: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class Policy:
    """Per-label thresholds, taken from the model's metadata and optionally overridden.

    ``thresholds[label]`` has ``flag``, ``review`` and ``reject`` (``None`` = never holds / rejects on this label)
    and ``decides`` (absent in models trained before it existed: true). A label that does not decide only flags.
    """

    thresholds: dict[str, dict]
    reject_labels: tuple[str, ...] = REJECT_LABELS

    @classmethod
    def from_model(cls, thresholds: dict[str, dict], overrides: dict | None = None,
                   reject_labels=REJECT_LABELS) -> "Policy":
        merged = {label: dict(values) for label, values in thresholds.items()}
        for label, values in (overrides or {}).items():
            if label not in merged:
                raise PolicyError(f"unknown label {label!r} in policy (model has {', '.join(merged)})")
            if not isinstance(values, dict):
                raise PolicyError(f"policy for {label!r} must be an object of thresholds")
            for key, value in values.items():
                if key not in THRESHOLD_NAMES:
                    raise PolicyError(f"unknown threshold {key!r} for {label!r} (use flag, review, reject)")
                if value is None and key == "flag":  # every score is compared with it: null cannot mean "never"
                    raise PolicyError(f"threshold {label}.flag must be a number in [0, 1]")
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                          or not 0.0 <= value <= 1.0):
                    raise PolicyError(f"threshold {label}.{key} must be a number in [0, 1] or null")
                if key != "flag" and value is not None and not _decides(merged[label]):
                    raise PolicyError(f"{label!r} does not decide in this model (too few positives to choose its "
                                      f"thresholds on; see `moderation models list`): only its flag can be set")
                merged[label][key] = value
        return cls(merged, tuple(reject_labels))

    def with_overrides(self, overrides: dict | None) -> "Policy":
        return self if not overrides else Policy.from_model(self.thresholds, overrides, self.reject_labels)

    def applicable(self, overrides: dict | None) -> dict:
        """The part of ``overrides`` this model can take: labels it has, and only the flag of one that does not
        decide (an article's policy may have been stored for another model)."""
        usable = {}
        for label, values in (overrides or {}).items():
            if label not in self.thresholds:
                continue
            if isinstance(values, dict) and not _decides(self.thresholds[label]):
                values = {key: value for key, value in values.items() if key == "flag"}
            usable[label] = values
        return usable

    def flag_threshold(self, label: str) -> float:
        """The score from which ``label`` is flagged."""
        return _flag(self.thresholds.get(label, {}))

    def decide(self, scores: dict[str, float]) -> Decision:
        """Reject on any rejecting label at or over its reject threshold, else review on any review threshold.

        Only deciding labels hold, reject or give a reason; any label at or over its flag threshold is flagged.
        """
        flags, rejects, reviews = [], [], []
        for label, score in scores.items():
            limits = self.thresholds.get(label)
            if limits is None:
                continue
            if score >= _flag(limits):
                flags.append(label)
            if not _decides(limits):
                continue
            reject_at = limits.get("reject")
            if label in self.reject_labels and reject_at is not None and score >= reject_at:
                rejects.append(_reason(label, score, reject_at, REJECT))
            elif limits.get("review") is not None and score >= limits["review"]:
                reviews.append(_reason(label, score, limits["review"], REVIEW))
        if rejects:
            return Decision(REJECT, flags, rejects + reviews)
        if reviews:
            return Decision(REVIEW, flags, reviews)
        return Decision(APPROVE, flags, [])


def _flag(limits: dict) -> float:
    return limits.get("flag", DEFAULT_FLAG)


def _decides(limits: dict) -> bool:
    return limits.get("decides", True) is not False


def _reason(label: str, score: float, threshold: float, action: str) -> dict:
    return {"label": label, "score": round(float(score), 4), "threshold": threshold, "action": action}


def unsupported_language(language: str | None) -> Decision:
    """Hold a comment whose language the model was not trained on, instead of scoring it as English."""
    return Decision(REVIEW, [UNSUPPORTED_LANGUAGE],
                    [{"label": UNSUPPORTED_LANGUAGE, "language": language, "action": REVIEW}])

"""Rules on who wrote a comment: hold newcomers and often-rejected authors, relax review for trusted ones.

The deployment's rules (``MODERATION_AUTHOR_POLICY``) are overridden key by key by an article's
``author_policy``. Rules only hold or approve what the model would hold: they never reject.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InvalidInput
from ..review.authors import REJECTED, History
from ..runtime.policy import APPROVE, REVIEW, Decision, Policy


class AuthorPolicyError(InvalidInput, ValueError):
    """An author policy with an unknown key or a value out of range."""


class AuthorPolicy(BaseModel):
    """Author rules; every rule is off unless set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hold_first: int = Field(0, ge=0, le=1000, description="Hold an author's comments until this many are approved.")
    max_rejected_share: float | None = Field(
        None, ge=0, le=1, description="Hold an author whose share of comments rejected by people, over their last "
                                      "`window` decisions, exceeds this.")
    window: int = Field(20, ge=1, le=1000, description="How many of an author's latest decisions the rules read.")
    trusted_after: int | None = Field(
        None, ge=1, description="An author with this many approved comments and no rejection by people in the last "
                                "`window` decisions is trusted: review thresholds are raised by `trusted_margin`.")
    trusted_margin: float = Field(0.1, ge=0, le=1, description="How far a trusted author's review thresholds rise "
                                                               "(never past a label's reject threshold).")

    @classmethod
    def parse(cls, value: dict | None, field: str = "author_policy") -> "AuthorPolicy":
        """A validated policy; AuthorPolicyError (422) names the offending key."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise AuthorPolicyError(f"{field} must be an object", field=field)
        try:
            return cls.model_validate(value)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join([field, *map(str, first["loc"])])
            raise AuthorPolicyError(f"{where}: {first['msg']}", field=where) from None

    @property
    def active(self) -> bool:
        return bool(self.hold_first or self.max_rejected_share is not None or self.trusted_after)


OFF = AuthorPolicy()


def merged(deployment: dict | None, article: dict | None) -> AuthorPolicy:
    """The rules for a comment: the article's keys over the deployment's (both validated when they were set)."""
    if not deployment and not article:
        return OFF
    return AuthorPolicy.model_validate({**(deployment or {}), **(article or {})})


def decide(rules: AuthorPolicy, history: History, decision: Decision, scores: dict[str, float],
           policy: Policy) -> Decision:
    """The decision after the author rules; a changed decision gives the rule that changed it as its reason."""
    recent = history.recent[:rules.window]
    rejected = sum(1 for event in recent if event["outcome"] == REJECTED and event["by_person"])
    if (decision.decision == REVIEW and rules.trusted_after and history.approved >= rules.trusted_after
            and not rejected and all("label" in reason for reason in decision.reasons)):
        relaxed = _relaxed(policy, rules.trusted_margin).decide(scores)
        if relaxed.decision == APPROVE:
            return Decision(APPROVE, decision.flags, [{"rule": "trusted_author", "approved": history.approved,
                                                       "needed": rules.trusted_after, "window": len(recent),
                                                       "action": APPROVE}])
    if decision.decision != APPROVE:
        return decision
    if history.approved < rules.hold_first:
        return Decision(REVIEW, decision.flags, [{"rule": "new_author", "approved": history.approved,
                                                  "needed": rules.hold_first, "action": REVIEW}])
    if rules.max_rejected_share is not None and recent and rejected / len(recent) > rules.max_rejected_share:
        return Decision(REVIEW, decision.flags, [{"rule": "rejected_share", "rejected": rejected,
                                                  "decisions": len(recent), "share": round(rejected / len(recent), 4),
                                                  "max": rules.max_rejected_share, "action": REVIEW}])
    return decision


def _relaxed(policy: Policy, margin: float) -> Policy:
    """``policy`` with every review threshold raised by ``margin``, up to its label's reject threshold and 1."""
    thresholds = {}
    for label, limits in policy.thresholds.items():
        limits = dict(limits)
        if limits.get("review") is not None:
            ceiling = limits["reject"] if limits.get("reject") is not None else 1.0
            limits["review"] = min(limits["review"] + margin, ceiling, 1.0)
        thresholds[label] = limits
    return Policy(thresholds, policy.reject_labels)

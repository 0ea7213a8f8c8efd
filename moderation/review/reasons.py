"""Rejection reason codes: the set a deployment offers (Coral's by default) and the one a comment's reasons suggest.

A statement of reasons goes with every rejection (EU Digital Services Act, art. 17): a person chooses the code,
pre-filled with :func:`suggest`; the service's own rejections get the suggestion.
"""
from __future__ import annotations

from .. import settings
from ..errors import InvalidInput

# Coral's RejectionReasonCode values, in Coral's order; OTHER takes free text.
CORAL_CODES = ("OFFENSIVE", "ABUSIVE", "SPAM", "BANNED_WORD", "AD", "HARASSMENT_BULLYING", "HATE_SPEECH",
               "IRRELEVANT_CONTENT", "ILLEGAL_CONTENT", "OTHER")
OTHER, BANNED_WORD = "OTHER", "BANNED_WORD"
MAX_DETAIL = 500
# The code a label's rejection suggests; the first of these labels among a comment's reasons decides.
LABEL_CODES = {"identity_attack": "HATE_SPEECH", "threat": "ABUSIVE", "insult": "HARASSMENT_BULLYING",
               "severe_toxic": "OFFENSIVE", "toxic": "OFFENSIVE", "profanity": "OFFENSIVE", "spam": "SPAM",
               "off_topic": "IRRELEVANT_CONTENT"}


class ReasonError(InvalidInput, ValueError):
    """A rejection reason that is not one of the deployment's codes, or OTHER without its text."""


def codes_from(setting) -> tuple[str, ...]:
    """The configured codes (a list, or a comma-separated string); OTHER is always among them."""
    if setting is None or setting == "":
        return CORAL_CODES
    codes = tuple(dict.fromkeys(code.upper() for code in settings.names(setting)))
    return codes if OTHER in codes else codes + (OTHER,)


def suggest(reasons: list[dict] | None, flags: list[str] | None = None, codes=CORAL_CODES) -> str:
    """The code a comment's reasons (word-list entries first, then labels) or else its flags suggest."""
    reasons = [r for r in reasons or [] if isinstance(r, dict)]
    for reason in reasons:
        if reason.get("rule") == "wordlist":
            code = str(reason.get("reason") or "").upper()
            return code if code in codes else BANNED_WORD if BANNED_WORD in codes else OTHER
    labels = {r.get("label") for r in reasons} | (set() if reasons else set(flags or []))
    for label, code in LABEL_CODES.items():
        if label in labels and code in codes:
            return code
    return OTHER


def validate(value, codes=CORAL_CODES, field: str = "reason") -> dict | None:
    """``{"code": ..., "detail": ...}`` from a code or such an object; ReasonError (422) names what is wrong."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"code": value}
    if not isinstance(value, dict) or not isinstance(value.get("code"), str):
        raise ReasonError(f"{field} must be a code or an object with 'code' (and 'detail')", field=field)
    code, detail = value["code"].strip().upper(), value.get("detail")
    if code not in codes:
        raise ReasonError(f"unknown reason code {value['code']!r} (codes: {', '.join(codes)})", field=f"{field}.code")
    if detail is not None and (not isinstance(detail, str) or len(detail) > MAX_DETAIL):
        raise ReasonError(f"{field}.detail must be text of at most {MAX_DETAIL} characters", field=f"{field}.detail")
    detail = (detail or "").strip() or None
    if code == OTHER and detail is None:
        raise ReasonError(f"{field}: OTHER needs its reason in 'detail'", field=f"{field}.detail")
    return {"code": code, "detail": detail} if detail else {"code": code}

"""``POST /v1/coral/moderate``: a Coral Talk external moderation phase.

Coral posts each new or edited comment here (signed with the phase's ``empsec_`` secrets) and gives up
after the phase timeout, 200 ms by default; any error or timeout lets the comment through. So this path
scores without span explanations, and answers only with fields and values Coral's validator accepts:
``204`` for no opinion, else ``status`` with ``actions`` (and ``moderationAction`` on rejections).
"""
from __future__ import annotations

import hashlib
import hmac
import re
from html.parser import HTMLParser

from typing import Literal

from flask import g, Blueprint, Flask, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ...errors import Problem
from ...review import reasons
from ...runtime.policy import APPROVE, REJECT, UNSUPPORTED_LANGUAGE, Decision
from ...service.moderate import Incoming
from .requests import json_body, require_scope
from .schemas import Omittable, as_json

bp = Blueprint("coral", __name__)

REJECT_STATUSES = ("REJECTED", "SYSTEM_WITHHELD")
AUTHOR_RULES = frozenset({"new_author", "rejected_share"})  # reasons that say who wrote it, not what it says
_MARKUP_RE = re.compile(r"<[a-zA-Z/!][^>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);")
_BLOCK_TAGS = frozenset("p br div li ul ol blockquote pre h1 h2 h3 h4 h5 h6 tr".split())


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", serialize_by_alias=True)


class CoralComment(_Body):
    body: str = Field(description="HTML or plain text, per the phase's format.")
    parent_id: str | None = Field(None, alias="parentID")


class CoralRef(_Body):
    id: str | None = None


class ExternalModerationRequest(_Body):
    """The fields of Coral's request that moderation uses (it also sends action, role, url, site, tenant)."""

    comment: CoralComment
    author: CoralRef | None = None
    story: CoralRef | None = None


CoralStatus = Literal["APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"]


class CoralFlag(_Body):
    action_type: Literal["FLAG"] = Field("FLAG", serialization_alias="actionType")
    reason: Literal["COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM"]


class RejectionReason(_Body):
    code: str


class CoralModerationAction(_Body):
    status: Literal["REJECTED"] = "REJECTED"
    rejection_reason: RejectionReason = Field(serialization_alias="rejectionReason")


class ExternalModerationResponse(_Body):
    """The phase's opinion; with no opinion the answer is 204, no body."""

    status: CoralStatus
    actions: Omittable[list[CoralFlag]] = None
    moderation_action: Omittable[CoralModerationAction] = Field(None, serialization_alias="moderationAction")


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def plain_text(body: str) -> str:
    """The text of a Coral comment body: tags stripped and entities unescaped when it is HTML."""
    if not _MARKUP_RE.search(body):
        return body.strip()
    parser = _TextExtractor()
    parser.feed(body)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def signature_valid(header: str | None, body: bytes, secrets: list[str]) -> bool:
    """True if any ``sha256=`` value of ``X-Coral-Signature`` is the HMAC of ``body`` under one of ``secrets``."""
    presented = []
    for part in (header or "").split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == "sha256":
            presented.append(value.strip().lower().encode("utf-8"))
    expected = [hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().encode("ascii")
                for secret in secrets]
    return any(hmac.compare_digest(digest, value) for digest in expected for value in presented)


def verify_signature() -> None:
    """401 unless the body is signed with a configured secret (no secrets configured: nothing to check)."""
    secrets = current_app.config["CORAL_SIGNING_SECRETS"]
    if not secrets:
        return
    header = request.headers.get("X-Coral-Signature")
    if not signature_valid(header, request.get_data(cache=True), secrets):
        raise Problem("X-Coral-Signature is missing." if header is None else
                      "X-Coral-Signature does not match the body under any configured signing secret.",
                      status=401, title="Invalid signature", type="/problems/invalid-signature")


def read_request() -> ExternalModerationRequest:
    """Coral's request body; 400 when it is not JSON or has no ``comment.body``."""
    body = json_body()
    if not isinstance(body, dict):
        raise Problem("The request body must be a JSON object.", field="")
    try:
        return ExternalModerationRequest.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise Problem(f"{location}: {first['msg']}", field=location) from None


def comment_id(coral: ExternalModerationRequest) -> str:
    """Coral sends no comment id: one made from the story, the author and the body."""
    parts = (coral.story.id if coral.story else None, coral.author.id if coral.author else None, coral.comment.body)
    digest = hashlib.sha256("\0".join(part or "" for part in parts).encode("utf-8")).hexdigest()
    return f"coral:{digest[:32]}"


def coral_answer(decision: Decision, reject_status: str) -> ExternalModerationResponse | None:
    """Coral's phase result for a decision; None (no opinion) for an approval."""
    if decision.decision == APPROVE:
        return None
    causes = {reason.get("label") or reason.get("rule") for reason in decision.reasons}
    if causes == {UNSUPPORTED_LANGUAGE}:
        return ExternalModerationResponse(status="SYSTEM_WITHHELD")  # unscored: neither of Coral's flags would be true
    if causes <= AUTHOR_RULES:
        return ExternalModerationResponse(status="PREMOD")  # held for who wrote it, not for what it says: no flag
    listed = [r for r in decision.reasons if r.get("rule") == "wordlist"]
    # Coral's flags say toxic or spam; a comment held only for being off topic, or for spam words, is spam.
    spam = {"off_topic"} | ({"wordlist"} if {r.get("reason") for r in listed} <= {"SPAM", "AD"} else set())
    flag = CoralFlag(reason="COMMENT_DETECTED_SPAM" if causes <= spam else "COMMENT_DETECTED_TOXIC")
    if decision.decision != REJECT:
        return ExternalModerationResponse(status="SYSTEM_WITHHELD", actions=[flag])
    action = None
    if reject_status == "REJECTED":
        action = CoralModerationAction(rejection_reason=RejectionReason(code=_rejection_code(decision)))
    return ExternalModerationResponse(status=reject_status, actions=[flag], moderation_action=action)


def _rejection_code(decision: Decision) -> str:
    """The code the rejecting reasons suggest: a word-list entry's (BANNED_WORD when it is none of Coral's), else
    the rejecting label's."""
    return reasons.suggest([r for r in decision.reasons if r.get("action") == REJECT])


@bp.post("/v1/coral/moderate")
@require_scope("score")
def moderate():
    """Moderate one comment for Coral: 204 to let it through, else Coral's status and flag."""
    verify_signature()
    coral = read_request()
    text = plain_text(coral.comment.body)
    if not text:
        return "", 204
    limit = current_app.config["MAX_TEXT_CHARS"]
    if len(text) > limit:
        raise Problem(f"comment.body: {len(text)} characters of text, over the limit of {limit}.",
                      field="comment.body")
    incoming = Incoming(id=comment_id(coral), text=text, article_id=coral.story.id if coral.story else None,
                        parent_id=coral.comment.parent_id, author_id=coral.author.id if coral.author else None)
    _, (outcome,) = current_app.extensions["moderation.service"].moderate([incoming], explain=False)
    g.moderation_outcomes = [outcome]  # counted by the metrics hook
    answer = coral_answer(outcome.result.decision, current_app.config["CORAL_REJECT_STATUS"])
    return ("", 204) if answer is None else jsonify(as_json(answer))


def init_app(app: Flask) -> None:
    status = str(app.config["CORAL_REJECT_STATUS"]).upper()
    if status not in REJECT_STATUSES:
        raise ValueError(f"CORAL_REJECT_STATUS must be one of {', '.join(REJECT_STATUSES)}, not {status!r}")
    app.config["CORAL_REJECT_STATUS"] = status
    app.register_blueprint(bp)

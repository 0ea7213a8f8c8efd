"""Request and response bodies of the v1 API as pydantic models: requests are validated with them, responses built
with them, and their JSON Schemas are the OpenAPI document's."""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, ValidationError, field_validator
from pydantic.json_schema import SkipJsonSchema

from ...errors import InvalidInput
from ...service.authors import AuthorPolicy
from ...service.wordlists import Entry, WordListIn

# C0 controls other than tab, newline and carriage return, DEL, and lone surrogates: never legitimate text.
_FORBIDDEN_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200)] | int
T = TypeVar("T")


def _is_none(value: object) -> bool:
    return value is None


def _without_default(schema: dict) -> None:
    schema.pop("default", None)


# A field that is left out of the JSON when None (and so is not required in the schema), never sent as null.
Omittable = Annotated[T | SkipJsonSchema[None], Field(exclude_if=_is_none, json_schema_extra=_without_default)]


def clean_text(value: str, max_chars: int | None = None) -> str:
    """Refuse empty text, control characters and (when given) text over ``max_chars`` characters."""
    if not value.strip():
        raise ValueError("text must not be empty")
    match = _FORBIDDEN_RE.search(value)
    if match:
        raise ValueError(f"text contains a control character (U+{ord(match.group()):04X}) at {match.start()}")
    if max_chars is not None and len(value) > max_chars:
        raise ValueError(f"text is {len(value)} characters, over the limit of {max_chars}")
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class CommentIn(_Body):
    id: Identifier
    text: str
    article_id: Identifier | None = None
    parent_id: Identifier | None = None
    author_id: Identifier | None = None

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return clean_text(value)


class ArticleIn(_Body):
    id: Identifier | None = None
    title: Annotated[str, StringConstraints(max_length=2_000)] = ""
    body: Annotated[str, StringConstraints(max_length=200_000)] = ""
    url: Annotated[str, StringConstraints(max_length=2_000)] | None = None
    policy: dict[str, dict[str, float | None]] | None = None
    author_policy: AuthorPolicy | None = Field(None, description="Author rules for this article, over the "
                                                                   "deployment's MODERATION_AUTHOR_POLICY, key by key.")


class ModerateRequest(_Body):
    comments: list[CommentIn] | None = None
    comment: CommentIn | None = None
    article: ArticleIn | None = None
    explain: bool = True
    remember: bool = Field(True, description="Remember these comments as thread context for later ones.")


def parse(model: type[BaseModel], body: Any) -> BaseModel:
    """Validate a decoded JSON body; the first error becomes a 422 problem naming the field."""
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.", field="")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"] if not str(part).startswith(("function-", "constrained-")))
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"{location or 'body'}: {message}", field=location) from None


def as_json(response: BaseModel) -> dict:
    """A response model as the JSON-ready dict the wire carries."""
    return response.model_dump(mode="json", by_alias=True)


Probability = Annotated[float, Field(ge=0, le=1)]
DecisionName = Literal["approve", "review", "reject"]
# Not "format: date-time": on SQLite the stored times come back without their UTC offset.
Timestamp = Annotated[str, Field(description="ISO 8601, in UTC.")]


class ComparedWith(BaseModel):
    """What an off-topic score compared the comment with (models with the semantic tier)."""

    context: Literal["article", "thread", "parent"] = Field(description="Where the closest text is.")
    text: str = Field(description="The closest sentence of the article, comment of the thread, or the parent.")
    similarity: float = Field(description="Cosine of the comment and that text in the sentence encoder's space.")
    specificity: Probability = Field(description="How specific the comment is to a story: 0 for a generic reaction.")
    typical_similarity: Omittable[float] = Field(
        None, description="The median cosine of the training comments with their own article.")


Count = Annotated[int, Field(ge=0)]


class Reason(BaseModel):
    """Why a comment was held or rejected: a label at or over a threshold (`label`), or a rule (`rule`).

    Only labels that decide in the model are reasons; a held comment has at least one. The rules: `wordlist`
    (an entry of a word list matched, with `list`, `entry`, `begin`, `end` and the entry's `reason`
    code), `new_author` and `rejected_share` (held for who wrote it), and `trusted_author`, the one reason
    that approves (a trusted author's comment the model would only have held).
    """

    label: Omittable[str] = Field(None, description="The label at or over its threshold; absent for a rule.")
    rule: Omittable[Literal["wordlist", "new_author", "rejected_share", "trusted_author"]] = Field(
        None, description="The rule that decided; absent for a label.")
    language: Omittable[str] = Field(None, description="The comment's language, when the model does not support it.")
    score: Omittable[Probability] = None
    threshold: Omittable[Probability] = None
    action: DecisionName
    compared_with: Omittable[ComparedWith] = None
    list_: Omittable[str] = Field(None, alias="list", description="wordlist: the list's name.")
    entry: Omittable[str] = Field(None, description="wordlist: the entry that matched, as written in the list.")
    begin: Omittable[Count] = Field(None, description="wordlist: where the match starts in the comment's text "
                                                      "(Python string index).")
    end: Omittable[Count] = Field(None, description="wordlist: where the match ends (exclusive).")
    reason: Omittable[str] = Field(None, description="wordlist: the entry's reason code, when it has one.")
    approved: Omittable[Count] = Field(None, description="new_author, trusted_author: the author's approved "
                                                         "comments.")
    needed: Omittable[Count] = Field(None, description="new_author: approvals before the author's comments are no "
                                                       "longer held; trusted_author: approvals that make one trusted.")
    window: Omittable[Count] = Field(None, description="trusted_author: the latest decisions read (none rejected "
                                                       "by people).")
    rejected: Omittable[Count] = Field(None, description="rejected_share: the author's comments rejected by people "
                                                         "among their latest decisions.")
    decisions: Omittable[Count] = Field(None, description="rejected_share: the latest decisions read.")
    share: Omittable[Probability] = Field(None, description="rejected_share: rejected / decisions.")
    max: Omittable[Probability] = Field(None, description="rejected_share: the share over which an author is held.")


class Span(BaseModel):
    """Characters that drove a flag (Python string indices, end exclusive)."""

    label: str
    begin: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str
    score: float = Field(description="The log-odds its words add to the label.")


class ModerationResult(BaseModel):
    """A retried comment (same id and text) gets this same result again."""

    id: str | int = Field(description="The comment's id as sent.")
    scores: dict[str, Probability] = Field(
        description="One probability per label of the served model; empty when not scored.")
    flags: list[str] = Field(description="Labels at or over their flag threshold.")
    decision: DecisionName
    reasons: list[Reason]
    spans: list[Span]
    language: Omittable[str] = Field(None, description="Set when the comment's language is not supported.")
    warnings: list[str] = Field(description=(
        "What to know about how the comment was scored, for a person to read; e.g. \"unknown article_id 'x': "
        "scored without article context\" when the comment names an article the service does not have "
        "(PUT it first)."))
    stored: bool = Field(description="The comment is kept in the review store (GET /v1/comments/{id} finds it).")
    model_version: str = Field(description="The model that scored this comment: an earlier one when a retry is "
                                           "answered from the store.")


class ModerateResponse(BaseModel):
    model_version: str
    results: list[ModerationResult] = Field(description="One result per comment, in request order.")


class ArticleOut(BaseModel):
    """An article as stored."""

    id: str
    title: str
    body: str
    url: str | None
    policy: dict[str, dict[str, float | None]] | None
    author_policy: dict[str, int | float | None] | None = Field(
        description="The article's author rules as set (keys of ArticleIn's author_policy), over the deployment's.")
    updated_at: Timestamp


class ReasonCode(BaseModel):
    """A rejection's statement of reasons: a code of REJECTION_REASONS (Coral's by default), with free text."""

    code: str = Field(examples=["ABUSIVE", "SPAM", "OTHER"])
    detail: Omittable[Annotated[str, StringConstraints(max_length=500)]] = Field(
        None, description="Free text; required with OTHER.")


class DecisionRequest(_Body):
    decision: Literal["approve", "reject"]
    # Checked against the served model's labels by the review queue, as the UI's form is.
    labels: dict[str, Any] | None = Field(None, description=(
        "Labels the decider confirms, each 0 or 1; the decision implies others (approve: the rejecting labels 0; "
        "reject: its reasons' labels 1), the rest stay unknown."))
    note: Annotated[str, Strict(), StringConstraints(max_length=5000)] | None = None
    version: Annotated[int, Strict()] | None = Field(None, description="The comment version the decider saw; "
                                                                       "another is a 409.")
    reason: str | ReasonCode | None = Field(None, description=(
        "A rejection's reason code (one of REJECTION_REASONS, by default Coral's), or the code with `detail` "
        "(required for OTHER). Without one, a rejection gets the code its reasons suggest."))

    @field_validator("reason", mode="plain", json_schema_input_type=str | ReasonCode | None)
    @classmethod
    def _reason(cls, value: Any) -> Any:
        return value  # checked against the deployment's codes by review.reasons.validate, as the UI's form is


class HistoryEntry(BaseModel):
    decision: str
    labels: dict[str, Any] | None
    rejection_reason: ReasonCode | None
    note: str | None
    actor: str
    outcome: Literal["applied", "conflict"]
    at: Timestamp


class AppealRequest(_Body):
    """A commenter's appeal of a rejection, sent by the comment system."""

    text: str = Field(max_length=5000, description="The commenter's words (may be empty).")


class Appeal(BaseModel):
    """The appeal of a rejected comment: the commenter's words, when, and what it was before."""

    text: str
    at: Timestamp
    from_status: Literal["rejected"]
    from_decided_by: str | None = Field(description="Who had rejected it; null for the service's own rejection.")


class StoredComment(BaseModel):
    """A comment in the review store, its status and its decision history."""

    id: str
    status: Literal["pending", "approved", "rejected", "appealed"]
    automatic_decision: DecisionName
    article_id: str | None
    parent_id: str | None
    author_id: str | None
    scores: dict[str, Probability]
    flags: list[str]
    reasons: list[Reason]
    labels: dict[str, Any] | None
    rejection_reason: ReasonCode | None = Field(description="A rejected comment's: the moderator's, or for an "
                                                            "automatic rejection the code its reasons suggest.")
    model_version: str
    version: int
    decided_by: str | None
    decided_at: Timestamp | None
    created_at: Timestamp
    appeal: Omittable[Appeal] = None
    history: list[HistoryEntry]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    model_version: str | None
    database: bool
    model_error: Omittable[str] = None


class AuthorDecision(BaseModel):
    comment_id: str
    outcome: Literal["approved", "rejected", "auto_rejected"]
    by_person: bool
    at: Timestamp


class AuthorOut(BaseModel):
    """What the service has seen of an author: where their comments stand, and their latest decisions."""

    id: str
    known: bool = Field(description="False when the service has seen no comment of this author.")
    scored: int
    held: int
    approved: int
    rejected: int = Field(description="Rejected by people.")
    auto_rejected: int
    first_seen: Timestamp | None
    last_seen: Timestamp | None
    recent: list[AuthorDecision] = Field(description="The latest decisions, newest first.")
    pending: list[str] = Field(description="Ids of the author's comments held for review, oldest first.")
    pending_total: int


class WordListOut(BaseModel):
    """A word list as stored (its request body is ``WordListIn``)."""

    name: str
    entries: list[Entry]
    article_ids: list[str] | None
    updated_at: Timestamp

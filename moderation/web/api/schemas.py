"""Request bodies of the v1 API, validated with pydantic; their JSON Schemas feed the OpenAPI document."""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from ...errors import InvalidInput
from ...service.authors import AuthorPolicy
from ...service.wordlists import Entry, WordListIn

# C0 controls other than tab, newline and carriage return, DEL, and lone surrogates: never legitimate text.
_FORBIDDEN_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200)] | int


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


class AuthorDecision(BaseModel):
    comment_id: str
    outcome: Literal["approved", "rejected", "auto_rejected"]
    by_person: bool
    at: str


class AuthorOut(BaseModel):
    """What the service has seen of an author: where their comments stand, and their latest decisions."""

    id: str
    known: bool = Field(description="False when the service has seen no comment of this author.")
    scored: int
    held: int
    approved: int
    rejected: int = Field(description="Rejected by people.")
    auto_rejected: int
    first_seen: str | None
    last_seen: str | None
    recent: list[AuthorDecision] = Field(description="The latest decisions, newest first.")
    pending: list[str] = Field(description="Ids of the author's comments held for review, oldest first.")
    pending_total: int


class WordListOut(BaseModel):
    name: str
    entries: list[Entry]
    article_ids: list[str] | None
    updated_at: str


__all__ = ["ArticleIn", "AuthorOut", "AuthorPolicy", "CommentIn", "Entry", "ModerateRequest", "WordListIn",
           "WordListOut", "clean_text", "parse"]

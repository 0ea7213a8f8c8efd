"""Google Perspective's protocol: ``comments:analyze`` and ``comments:suggestscore`` for existing clients.

Perspective clients (Coral Talk among them) only need their endpoint pointed here. Requests are read as
Perspective reads them and every error, ours included, answers in Google's error envelope, since that is
the shape these clients parse. Attribute names map onto the served model's labels; an attribute the
model lacks is refused like an unknown one.
"""
from __future__ import annotations

import json
import re

from flask import Blueprint, Flask, current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel
from werkzeug.exceptions import HTTPException

from ...model.comment import Comment
from ...runtime.scorer import Scorer
from ...store import StoreUnavailable
from ...store.models import Feedback
from .requests import KeyRefusals, require_scope
from .schemas import Omittable, as_json

bp = Blueprint("perspective", __name__)

ATTRIBUTES = {"TOXICITY": "toxic", "SEVERE_TOXICITY": "severe_toxic", "INSULT": "insult", "PROFANITY": "profanity",
              "THREAT": "threat", "IDENTITY_ATTACK": "identity_attack", "OFF_TOPIC": "off_topic"}
PROBABILITY = "PROBABILITY"
PLAIN_TEXT = "PLAIN_TEXT"
MAX_COMMENT_BYTES = 20480
MAX_FEEDBACK_FIELD = 500  # length of the feedback table's community_id and client_token columns
_ERROR_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
_HTTP_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE",
                504: "DEADLINE_EXCEEDED"}
# A sentence: from a non-space character to end punctuation (with closing quotes) before a space, a line end,
# or the end of the text.
_SENTENCE_RE = re.compile(r"\S.*?(?:[.!?…]+[\"'”’)\]]*(?=\s|$)|(?=\n)|$)", re.S)


class GoogleError(Exception):
    """An error answered in Google's envelope; the HTTP status is ``code``."""

    def __init__(self, message: str, code: int = 400, status: str | None = None, error_type: str | None = None,
                 headers: dict | None = None, **detail):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status or _HTTP_STATUS.get(code, "INTERNAL" if code >= 500 else "INVALID_ARGUMENT")
        self.error_type = error_type
        self.headers = headers or {}
        self.detail = detail

    def response(self):
        details = [ErrorDetail(type=_ERROR_TYPE, error_type=self.error_type, **self.detail)] if self.error_type else None
        error = ErrorStatus(code=self.code, message=self.message, status=self.status, details=details)
        response = jsonify(as_json(ErrorEnvelope(error=error)))
        response.status_code = self.code
        response.headers.update(self.headers)
        return response


def invalid(message: str, error_type: str = "INVALID_REQUEST", **detail) -> GoogleError:
    return GoogleError(message, error_type=error_type, **detail)


# Messages. Proto3 JSON accepts both the camelCase and the original snake_case field names, and answers in camelCase.
class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False, alias_generator=to_camel,
                              populate_by_name=True, serialize_by_alias=True)


class TextEntry(_Message):
    text: str | None = Field(None, description=f"At most {MAX_COMMENT_BYTES} UTF-8 bytes.")
    type: str | None = Field(None, description=f"Only {PLAIN_TEXT} is supported.")


class ArticleAndParentComment(_Message):
    article: TextEntry | None = None
    parent_comment: TextEntry | None = None


class Context(_Message):
    """Either entries or articleAndParentComment, not both."""

    entries: list[TextEntry] | None = None
    article_and_parent_comment: ArticleAndParentComment | None = None


class AttributeParameters(_Message):
    score_type: str | None = Field(None, description=f"Only {PROBABILITY} is supported.")
    score_threshold: float | None = Field(None, description="Leave the attribute out below this.")


class Score(_Message):
    value: float = 0.0  # proto3: an omitted value is 0, which is also how serialisers send an explicit 0
    type: Omittable[str] = None


class SpanScore(_Message):
    begin: Omittable[int] = Field(None, description="UTF-16 code units.")
    end: Omittable[int] = Field(None, description="UTF-16 code units, exclusive.")
    score: Omittable[Score] = None


class AttributeScores(_Message):
    summary_score: Omittable[Score] = None
    span_scores: Omittable[list[SpanScore]] = None


class _CommentRequest(_Message):
    comment: TextEntry | None = None
    context: Context | None = None
    languages: list[str] | None = Field(None, description="ISO 639-1 codes; none: detect.")
    client_token: str | None = None
    session_id: str | None = None
    community_id: str | None = None


class AnalyzeRequest(_CommentRequest):
    requested_attributes: dict[str, AttributeParameters | None] | None = Field(
        None, description="Attribute names, e.g. TOXICITY, INSULT.")
    span_annotations: bool = False
    do_not_store: bool = False
    drop_unsupported_attributes: bool = False


class SuggestRequest(_CommentRequest):
    attribute_scores: dict[str, AttributeScores | None] | None = None


class AnalyzeResponse(_Message):
    attribute_scores: Omittable[dict[str, AttributeScores]] = Field(
        None, description="Left out when no requested attribute reached its scoreThreshold.")
    languages: list[str]
    detected_languages: list[str]
    client_token: Omittable[str] = None


class SuggestResponse(_Message):
    client_token: Omittable[str] = None
    detected_languages: Omittable[list[str]] = None
    requested_languages: Omittable[list[str]] = None


class ErrorDetail(_Message):
    model_config = ConfigDict(extra="allow")  # what an error type adds, e.g. languageNotSupportedByAttributeError

    type: str = Field(alias="@type")
    error_type: str = Field(examples=["COMMENT_EMPTY"])


class ErrorStatus(_Message):
    code: int = Field(description="The HTTP status.")
    message: str
    status: str = Field(examples=["INVALID_ARGUMENT", "PERMISSION_DENIED"])
    details: Omittable[list[ErrorDetail]] = None


class ErrorEnvelope(_Message):
    """Google's error envelope: every error of the Perspective endpoints."""

    error: ErrorStatus


def read_body(model: type[_Message]) -> _Message:
    """The JSON body validated as ``model``; anything unreadable is a 400 INVALID_ARGUMENT."""
    try:
        body = json.loads(request.get_data(cache=True).decode("utf-8"))
    except UnicodeDecodeError as error:
        raise GoogleError(f"Invalid JSON payload received. The body is not UTF-8 (byte {error.start}).") from None
    except json.JSONDecodeError as error:
        raise GoogleError(f"Invalid JSON payload received. {error.msg} at line {error.lineno} column "
                          f"{error.colno}.") from None
    except RecursionError:
        raise GoogleError("Invalid JSON payload received. The JSON is nested too deeply.") from None
    if not isinstance(body, dict):
        raise GoogleError("Invalid JSON payload received. The request must be a JSON object.")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise GoogleError("Invalid JSON payload received. A string holds a lone UTF-16 surrogate.") from None
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise GoogleError(f"Invalid value at '{location}': {first['msg']}, {json.dumps(first['input'])[:100]}") \
            from None


# API keys refused as Google refuses them.
GOOGLE_REFUSALS = KeyRefusals(
    missing=lambda: GoogleError("The request is missing a valid API key.", 403, "PERMISSION_DENIED"),
    invalid=lambda: GoogleError("API key not valid. Please pass a valid API key."),
    unreachable=lambda: GoogleError("The key store is unreachable; try again shortly.", 503,
                                    headers={"Retry-After": "5"}),
    lacking=lambda scopes: GoogleError(f"This API key lacks the {' or '.join(map(repr, scopes))} scope.", 403),
)


def comment_text(entry: TextEntry | None) -> str:
    """The comment's text, refused as Perspective refuses it: empty, over 20480 bytes, or not plain text."""
    text = entry.text if entry else None
    if not text or not text.strip():
        raise invalid("Comment must be non-empty.", "COMMENT_EMPTY")
    size = len(text.encode("utf-8"))
    if size > MAX_COMMENT_BYTES:
        raise invalid(f"Comment text was too many bytes. Value ({size}) exceeded limit ({MAX_COMMENT_BYTES}).",
                      "COMMENT_TOO_LONG")
    if entry.type not in (None, PLAIN_TEXT):
        raise invalid("Currently, only 'PLAIN_TEXT' comments are supported")
    return text


def context_texts(context: Context | None) -> tuple[str | None, str | None]:
    """(article, parent) context: the entries' texts joined count as the article."""
    if context is None:
        return None, None
    if context.entries and context.article_and_parent_comment is not None:
        raise invalid("Context can have either entries or article_and_parent_comment, "
                      "but both fields were populated.")
    if context.entries:
        return "\n".join(e.text for e in context.entries if e.text) or None, None
    pair = context.article_and_parent_comment
    if pair is None:
        return None, None
    return _text(pair.article), _text(pair.parent_comment)


def _text(entry: TextEntry | None) -> str | None:
    return (entry.text or None) if entry else None


def requested_labels(attributes: dict[str, AttributeParameters | None] | None, scorer: Scorer) -> dict[str, str]:
    """Requested attribute name -> model label, in request order; refuses names the model cannot score."""
    if not attributes:
        raise invalid("Missing requested_attributes", "NO_REQUESTED_ATTRIBUTES")
    offered = ", ".join(name for name, label in ATTRIBUTES.items() if label in scorer.labels)
    labels = {}
    for name, parameters in attributes.items():
        if name not in ATTRIBUTES:
            raise invalid(f"Unknown requested attribute: {name}")
        if ATTRIBUTES[name] not in scorer.labels:
            raise invalid(f"Unknown requested attribute: {name} (the served model has no "
                          f"{ATTRIBUTES[name]} label; it offers {offered})")
        score_type = parameters.score_type if parameters else None
        if score_type not in (None, "SCORE_TYPE_UNSPECIFIED", PROBABILITY):
            raise invalid(f"Requested score type {score_type} is not supported by attribute {name}")
        labels[name] = ATTRIBUTES[name]
    return labels


def model_languages(scorer: Scorer) -> list[str]:
    return [_primary(code) for code in scorer.artifact.metadata.get("languages", ["en"])]


def _primary(code: str) -> str:
    """The language subtag of an ISO 639-1 / BCP-47 code: ``en-US`` -> ``en``."""
    return code.replace("_", "-").split("-")[0].lower()


def detected_languages(text: str, supported: list[str]) -> list[str]:
    """The language of ``text`` as the service treats it; empty when the text has no letters to go by.

    A language the model lacks is reported only when detection is confident; short or ambiguous text counts
    as the model's own language, as in :meth:`LanguageIdentifier.unsupported`. Without detection (turned
    off), every text is assumed to be in the model's first language.
    """
    identifier = current_app.extensions.get("moderation.language")
    if identifier is None:
        return supported[:1]
    if not any(character.isalpha() for character in text):
        return []
    foreign = identifier.unsupported(text)
    if foreign:
        return [foreign]
    language, _ = identifier.detect(text)
    return [language if language in supported else supported[0]]


def sentences(text: str) -> list[tuple[int, int]]:
    """Character ranges of the sentences of ``text``, trailing spaces excluded."""
    return [(m.start(), m.start() + len(m.group().rstrip())) for m in _SENTENCE_RE.finditer(text)]


def utf16_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def score(probability: float) -> Score:
    return Score(value=round(float(probability), 4), type=PROBABILITY)


def served_scorer() -> Scorer:
    scorer = current_app.extensions["moderation.model"].scorer
    if scorer is None:
        raise GoogleError("No model is loaded; try again shortly.", 503, headers={"Retry-After": "10"})
    return scorer


def in_supported_language(labels: dict[str, str], languages: list[str], supported: list[str],
                          drop_unsupported: bool) -> dict[str, str]:
    """The attributes to score: all when a language is one the model knows, else an error (or none if dropped)."""
    if not languages:
        raise invalid("Unable to detect language", "LANGUAGE_DETECTION_FAILED")
    if {_primary(code) for code in languages} & set(supported):
        return labels
    if drop_unsupported:
        return {}
    name = next(iter(labels))
    raise invalid(f"Attribute {name} does not support request languages: {','.join(languages)}",
                  "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                  languageNotSupportedByAttributeError={"detectedLanguages": languages, "attribute": name})


@bp.post("/v1alpha1/comments:analyze")
@bp.post("/comments:analyze")
@require_scope("score", refusals=GOOGLE_REFUSALS)
def analyze():
    """Score a comment for the requested attributes; ``doNotStore`` (Coral sends true) is moot: nothing is stored."""
    body = read_body(AnalyzeRequest)
    text = comment_text(body.comment)
    article, parent = context_texts(body.context)
    scorer = served_scorer()
    labels = requested_labels(body.requested_attributes, scorer)
    supported = model_languages(scorer)
    detected = detected_languages(text, supported)
    languages = [code for code in body.languages or () if code] or detected[:1]
    labels = in_supported_language(labels, languages, supported, body.drop_unsupported_attributes)
    scores = _attribute_scores(scorer, text, article, parent, labels, body) if labels else {}
    return jsonify(as_json(AnalyzeResponse(attribute_scores=scores or None, languages=languages,
                                           detected_languages=detected, client_token=body.client_token)))


def _attribute_scores(scorer: Scorer, text: str, article: str | None, parent: str | None,
                      labels: dict[str, str], body: AnalyzeRequest) -> dict[str, AttributeScores]:
    """Summary (and per-sentence) scores of every attribute from one batch; those under their threshold left out."""
    spans = sentences(text) if body.span_annotations else []
    batch = [Comment(text, article, (), parent)] + [Comment(text[b:e], article, (), parent) for b, e in spans]
    probabilities = scorer.predict(batch)
    offsets = [(utf16_offset(text, b), utf16_offset(text, e)) for b, e in spans]
    scores = {}
    for name, label in labels.items():
        column = probabilities[:, scorer.labels.index(label)]
        parameters = body.requested_attributes[name]
        threshold = parameters.score_threshold if parameters else None
        if threshold is not None and round(float(column[0]), 4) < threshold:
            continue
        scores[name] = AttributeScores(summary_score=score(column[0]), span_scores=[
            SpanScore(begin=b, end=e, score=score(p)) for (b, e), p in zip(offsets, column[1:])] if spans else None)
    return scores


@bp.post("/v1alpha1/comments:suggestscore")
@bp.post("/comments:suggestscore")
@require_scope("score", "review", refusals=GOOGLE_REFUSALS)
def suggest_score():
    """Store a client's suggested scores as labelled feedback for retraining.

    A ``score`` key is enough: Coral sends its analyze and feedback calls with the one key it is given.
    """
    body = read_body(SuggestRequest)
    text = comment_text(body.comment)
    article, parent = context_texts(body.context)
    labels = suggested_labels(body.attribute_scores, text)
    store_feedback(Feedback(text=text, labels=labels, context="\n".join(p for p in (article, parent) if p) or None,
                            community_id=body.community_id, client_token=body.client_token,
                            api_key_id=g.api_key.id))
    scorer = current_app.extensions["moderation.model"].scorer
    detected = detected_languages(text, model_languages(scorer) if scorer else ["en"])
    return jsonify(as_json(SuggestResponse(client_token=body.client_token, detected_languages=detected or None,
                                           requested_languages=body.languages or None)))


def store_feedback(feedback: Feedback) -> None:
    """Add one feedback row; 503 when the store is unreachable."""
    for field, value in (("communityId", feedback.community_id), ("clientToken", feedback.client_token)):
        if value is not None and len(value) > MAX_FEEDBACK_FIELD:
            raise invalid(f"{field} is {len(value)} characters long; at most {MAX_FEEDBACK_FIELD} are kept.")
    try:
        with current_app.extensions["moderation.store"].session() as session:
            session.add(feedback)
    except StoreUnavailable:
        raise GoogleError("The feedback store is unreachable; try again shortly.", 503,
                          headers={"Retry-After": "5"}) from None


def suggested_labels(attributes: dict[str, AttributeScores | None] | None, text: str) -> dict[str, float]:
    """Our label -> suggested score; a span-only suggestion counts as its highest span."""
    if not attributes:
        raise invalid("Missing attribute_scores")
    length = utf16_offset(text, len(text))
    labels = {}
    for name, scores in attributes.items():
        if name not in ATTRIBUTES:
            raise invalid(f"Unknown attribute: {name}")
        if scores is None or (scores.summary_score is None and not scores.span_scores):
            raise invalid(f"Attribute {name} needs a summaryScore or spanScores.")
        values = []
        for span in scores.span_scores or ():
            if span.begin is None or span.end is None or not 0 <= span.begin <= span.end <= length:
                raise invalid(f"Every span score of {name} needs begin and end within the comment "
                              f"(0 to {length} UTF-16 code units).")
            values.append(_suggested(name, span.score or Score()))
        labels[ATTRIBUTES[name]] = (_suggested(name, scores.summary_score) if scores.summary_score is not None
                                   else max(values))
    return labels


def _suggested(name: str, value: Score) -> float:
    if value.type not in (None, "SCORE_TYPE_UNSPECIFIED", PROBABILITY):
        raise invalid(f"Requested score type {value.type} is not supported by attribute {name}")
    if not 0.0 <= value.value <= 1.0:
        raise invalid(f"Scores of {name} are probabilities in [0, 1]; got {value.value}.")
    return value.value


@bp.errorhandler(GoogleError)
def _google_error(error: GoogleError):
    return error.response()


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    message = error.description or error.name
    if error.code == 429:  # the per-key rate limit, worded as Google words quota errors
        message = f"Quota exceeded: {message}."
    return GoogleError(message, error.code or 500).response()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

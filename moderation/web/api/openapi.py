"""The OpenAPI 3.1 document of the HTTP API.

Built from the app's own URL map and ``OPERATIONS``, a table from (Flask rule, method) to what the route takes
and answers. Every JSON body in it, request, response or error, is named by the pydantic model the view
validates it with or builds it from, and its schema is that model's JSON Schema: the document cannot drift from
the code. Only the review UI's forms and pages, which no model reads, are described here by hand, as are the
links that let a client chain calls (an article just put, a comment just moderated). A registered route
without an entry in ``OPERATIONS``, or an entry without a registered route, fails the test suite.
"""
from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from .coral import ExternalModerationRequest, ExternalModerationResponse
from .limits import LIMITED_PREFIXES
from .perspective import AnalyzeRequest, AnalyzeResponse, ErrorEnvelope, SuggestRequest, SuggestResponse
from .schemas import (AppealRequest, ArticleIn, ArticleOut, AuthorOut, DecisionRequest, Health, ModerateRequest,
                      ModerateResponse, Readiness, StoredComment, WordListIn, WordListOut)
from ..errors import PROBLEM_JSON, ProblemDetails

OPENAPI_VERSION = "3.1.0"
_REF = "#/components/schemas/{model}"
_RULE_ARGUMENT_RE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_UNDOCUMENTED_METHODS = {"HEAD", "OPTIONS"}
# The $ref of each (model, "validation" for a request body or "serialization" for a response body).
_Refs = dict[tuple[type[BaseModel], JsonSchemaMode], dict]
_STRING = {"type": "string"}
_PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}

SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer mk_…"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "key",
                    "description": "The only way Perspective clients send their key."},
    "coralSignature": {"type": "apiKey", "in": "header", "name": "X-Coral-Signature",
                       "description": "sha256=HEX[,sha256=HEX…]: HMAC-SHA256 of the raw body with a signing secret."},
    "reviewSession": {"type": "apiKey", "in": "cookie", "name": "session",
                      "description": "The review UI's login session; forms also carry its CSRF token (csrf_token "
                                     "field or X-CSRF-Token header)."},
}
_KEY_SECURITY = [{"bearerAuth": []}, {"apiKeyHeader": []}, {"apiKeyQuery": []}]

_PROBLEMS = {
    400: "The body is not UTF-8 JSON.", 401: "No API key, or one that is not valid.",
    403: "The API key lacks the scope.", 404: "No such resource.",
    409: "Someone decided this comment first, or a comment id was sent again with different text.",
    413: "The body is over the size limit.", 415: "The body is not sent as application/json.",
    422: "The request is JSON but not a valid request.", 429: "Over the API key's rate limit (RATE_LIMIT).",
    503: "No model is loaded, or the store is unreachable.",
}
_GOOGLE_ERRORS = {400: "INVALID_ARGUMENT: bad request, unsupported attribute or language, or a bad key.",
                  403: "PERMISSION_DENIED: no key, or one without the scope.",
                  413: "The body is over the size limit.", 429: "RESOURCE_EXHAUSTED: over the rate limit.",
                  503: "UNAVAILABLE: no model, or no store."}
_JSON_BODY_ERRORS = (400, 413, 415, 422)
_KEY_ERRORS = (401, 403, 503)


def _json(schema: dict, media_type: str = "application/json") -> dict:
    return {"content": {media_type: {"schema": schema}}}


def _google_errors() -> dict:
    return {str(status): {"$ref": f"#/components/responses/GoogleError{status}"} for status in _GOOGLE_ERRORS}


def _ok(description: str, model: type[BaseModel], status: int = 200) -> dict:
    """A JSON response whose body the view builds with ``model``."""
    return {str(status): {"description": description, "model": model}}


def _with_request_id(response: dict) -> dict:
    """A response object that also names the X-Request-ID header every response carries."""
    if "$ref" in response:
        return response
    return {**response, "headers": {"X-Request-ID": {"$ref": "#/components/headers/X-Request-ID"}}}


def _link(target: tuple[str, str], description: str, **parameters: str) -> dict:
    """A link to the operation ``target`` (a key of ``OPERATIONS``); ``parameters`` are runtime expressions."""
    return {"target": target, "description": description, "parameters": parameters}


_ARTICLE_RULE = "/v1/articles/<path:article_id>"
_COMMENT_RULE = "/v1/comments/<path:comment_id>"
_DECISION_RULE = "/v1/comments/<path:comment_id>/decision"
_APPEAL_RULE = "/v1/comments/<path:comment_id>/appeal"
_AUTHOR_RULE = "/v1/authors/<path:author_id>"
_WORDLIST_RULE = "/v1/wordlists/<name>"

_PERSPECTIVE_ANALYZE = {
    "tags": ["perspective"], "summary": "Perspective API: score a comment",
    "description": "Drop-in for Google's `comments:analyze`; point Coral's Perspective endpoint here. "
                   "Attribute names map to the model's labels. Perspective clients send the key as `?key=`. "
                   "Errors are Google's envelope, not problem+json.",
    "request": AnalyzeRequest, "problems": False,
    "responses": {**_ok("Scores of the requested attributes.", AnalyzeResponse), **_google_errors()},
}
_PERSPECTIVE_SUGGEST = {
    "tags": ["perspective"], "summary": "Perspective API: send feedback on a score",
    "description": "Drop-in for `comments:suggestscore`: Coral sends moderators' decisions here; they are "
                   "kept as labelled feedback for retraining. A key with the `score` or `review` scope.",
    "request": SuggestRequest, "problems": False,
    "responses": {**_ok("Feedback stored.", SuggestResponse), **_google_errors()},
}

# (Flask rule, method) -> operation. ``request`` is the model the view validates the body with; ``responses``
# maps statuses to ``_ok(description, Model)`` where the view builds the body with Model, else to OpenAPI response
# objects; ``security`` defaults to the API key when the view requires a scope; ``errors`` lists problem+json
# statuses beyond those implied by the body, the key, path ids and rate limits; ``problems: False`` where errors
# are not problem+json but Google's envelope (Perspective) or the review UI's pages; ``links`` go on every 2xx
# response. A summary left out is the first line of the view's docstring.
OPERATIONS: dict[tuple[str, str], dict] = {
    ("/healthz", "GET"): {"tags": ["operations"], "responses": _ok("The process is up.", Health)},
    ("/readyz", "GET"): {"tags": ["operations"], "responses": {
        **_ok("A model is loaded and the database answers.", Readiness),
        **_ok("Not ready: no model, or no database.", Readiness, 503)}},
    ("/metrics", "GET"): {"tags": ["operations"], "responses": {"200": {
        "description": "Prometheus text exposition format.",
        "content": {"text/plain": {"schema": {"type": "string"}}}}}},
    ("/openapi.json", "GET"): {"tags": ["operations"], "responses": {"200": {
        "description": "This document.", **_json({"type": "object"})}}},
    ("/docs", "GET"): {"tags": ["operations"], "responses": {"200": {
        "description": "This document as a web page.", "content": {"text/html": {"schema": {"type": "string"}}}}}},
    ("/v1/moderate", "POST"): {
        "tags": ["moderation"], "request": ModerateRequest, "errors": (409, 503),
        "description": "Send `comment` (one) or `comments` (a batch of at most MAX_BATCH, 100 by default). "
                       "Comments with an `article_id` are compared with the stored article and remembered as "
                       "context for later comments on it; one naming an unknown article is scored without it "
                       "and says so in `warnings`. A stored comment sent again with the same id and text gets "
                       "its first answer; with other text, a 409.",
        "responses": _ok("One result per comment.", ModerateResponse),
        # Only held and rejected comments are stored: for an approved one both targets answer 404.
        "links": {
            "GetComment": _link((_COMMENT_RULE, "GET"), "The first comment, if it was stored for review.",
                                comment_id="$response.body#/results/0/id"),
            "DecideComment": _link((_DECISION_RULE, "POST"), "Decide the first comment, if it was stored.",
                                   comment_id="$response.body#/results/0/id"),
        },
    },
    (_ARTICLE_RULE, "PUT"): {
        "tags": ["articles"], "request": ArticleIn,
        "responses": {**_ok("Replaced.", ArticleOut), **_ok("Created.", ArticleOut, 201)},
        "links": {"GetArticle": _link((_ARTICLE_RULE, "GET"), "The article as stored.",
                                      article_id="$response.body#/id")},
    },
    (_ARTICLE_RULE, "GET"): {"tags": ["articles"], "errors": (404,), "responses": _ok("The article.", ArticleOut)},
    (_COMMENT_RULE, "GET"): {"tags": ["comments"], "errors": (404,),
                             "responses": _ok("The comment and its history.", StoredComment)},
    (_APPEAL_RULE, "POST"): {
        "tags": ["comments"], "request": AppealRequest, "errors": (404, 409),
        "responses": _ok("The comment, now in the appeals queue.", StoredComment)},
    (_DECISION_RULE, "POST"): {
        "tags": ["comments"], "request": DecisionRequest, "errors": (404, 409),
        "responses": _ok("The comment after the decision.", StoredComment),
        "links": {"GetComment": _link((_COMMENT_RULE, "GET"), "The comment and its history, with this decision.",
                                      comment_id="$response.body#/id")},
    },
    (_AUTHOR_RULE, "GET"): {"tags": ["authors"], "errors": (422,),
                            "responses": _ok("The author's history (empty for an unseen author).", AuthorOut)},
    (_WORDLIST_RULE, "PUT"): {
        "tags": ["wordlists"], "request": WordListIn,
        "description": "Entries are matched on the normalised text (look-alikes, leetspeak, spacing, masking) by "
                       "whole words; a match holds or rejects as its `action` says and is a reason with the "
                       "entry and its offsets. Takes effect on other workers within ARTICLE_CACHE_SECONDS. An "
                       "invalid pattern or an entry with no word is a 422 naming it.",
        "responses": {**_ok("Replaced.", WordListOut), **_ok("Created.", WordListOut, 201)},
        "links": {"GetWordList": _link((_WORDLIST_RULE, "GET"), "The list as stored.",
                                       name="$response.body#/name")},
    },
    (_WORDLIST_RULE, "GET"): {"tags": ["wordlists"], "errors": (404,),
                              "responses": _ok("The list.", WordListOut)},
    (_WORDLIST_RULE, "DELETE"): {"tags": ["wordlists"], "errors": (404,),
                                 "responses": {"204": {"description": "Deleted."}}},
    ("/v1alpha1/comments:analyze", "POST"): _PERSPECTIVE_ANALYZE,
    ("/comments:analyze", "POST"): _PERSPECTIVE_ANALYZE,
    ("/v1alpha1/comments:suggestscore", "POST"): _PERSPECTIVE_SUGGEST,
    ("/comments:suggestscore", "POST"): _PERSPECTIVE_SUGGEST,
    ("/v1/coral/moderate", "POST"): {
        "tags": ["coral"], "summary": "Coral external moderation phase",
        "description": "Set this URL, with `?key=KEY`, as an external moderation phase in Coral. When "
                       "CORAL_SIGNING_SECRETS holds the phase's signing secret(s), the X-Coral-Signature header "
                       "(coralSignature) must match the raw body too. Answers a status and flags, or 204 when "
                       "it has no opinion.",
        "request": ExternalModerationRequest, "body_errors": (400, 413, 415),
        "responses": {**_ok("Coral's status and flags for the comment.", ExternalModerationResponse),
                      "204": {"description": "No opinion: Coral goes on to its next phase."}},
    },
}

_UI_ERRORS = {401: "Not logged in (clients that ask for JSON; browsers are redirected to the login page).",
              403: "The form's CSRF token is missing or stale.", 404: "No such queue or comment.",
              409: "Someone decided this comment first: recorded in the audit trail, not applied.",
              422: "A filter, sort or form field is not valid.", 429: "Too many failed logins: try later.",
              503: "No secret key for sessions, or the database is unreachable."}
_HTML = {"text/html": {"schema": {"type": "string"}}}
_TO_LOGIN = {"302": {"description": "Not logged in: to the login page (or, after a form, back to the page).",
                     "headers": {"Location": {"schema": {"type": "string"}}}}}
_QUERY_FILTERS = [{"name": name, "in": "query", "required": False, "schema": schema, "description": description}
                  for name, schema, description in (
                      ("label", _STRING, "Only comments flagged with this label."),
                      ("sort_label", _STRING, "The label whose score orders the queue."),
                      ("sort", {"type": "string", "enum": ["score", "time", "oldest"]}, "Order."),
                      ("article", _STRING, "Only comments on this article."))]
_PAGE = {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}}
_BULK_QUERY = [{"name": "queue", "in": "query", "required": False,
                "schema": {"type": "string", "enum": ["review", "auto-rejected", "approved", "rejected"]}},
               {"name": "decision", "in": "query", "required": True,
                "schema": {"type": "string", "enum": ["approve", "reject"]}},
               {"name": "min_score", "in": "query", "required": False, "schema": _PROBABILITY},
               {"name": "max_score", "in": "query", "required": False, "schema": _PROBABILITY}]


def _form(properties: dict, required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "properties": {**properties, "csrf_token": _STRING}, "required": list(required)}


def _page(summary: str, *errors: int, parameters: list | None = None, form: dict | None = None,
          ok: dict | None = None, public: bool = False) -> dict:
    """A review UI operation: HTML for browsers, problem+json errors for clients that ask for JSON."""
    responses = ok if ok is not None else {"200": {"description": "The page.", "content": _HTML}}
    if not public:
        responses = {**responses, **_TO_LOGIN}
    spec = {"tags": ["review-ui"], "summary": summary, "problems": False, "security": [] if public else
            [{"reviewSession": []}], "responses": {**responses, **{
                str(status): {"$ref": f"#/components/responses/Ui{status}"}
                for status in sorted({*errors, 503, *(() if public else (401,)), *((403,) if form else ())})}}}
    if parameters:
        spec["parameters"] = parameters
    if form is not None:
        spec["form"] = form
    return spec


_DECISION_FORM = {**_form({"decision": {"type": "string", "enum": ["approve", "reject"]},
                           "version": {"type": "integer"}, "note": {"type": "string", "maxLength": 5000},
                           "reason": {"type": "string", "description": "A rejection's reason code (one of "
                                                                       "REJECTION_REASONS)."},
                           "reason_detail": {"type": "string", "maxLength": 500,
                                             "description": "Free text; required with OTHER."},
                           "next": _STRING}, ("decision", "version")),
                  "patternProperties": {r"^label\.": {
                      "type": "string", "enum": ["1", "0", ""],
                      "description": "`label.NAME`: the moderator set the label yes (1) or no (0); empty: unset."}}}
_REVIEW_OPERATIONS = {
    ("/review/", "GET"): _page("Go to the review queue", ok={"302": {
        "description": "To the review queue.", "headers": {"Location": {"schema": {"type": "string"}}}}}),
    ("/review/login", "GET"): _page("The login form", public=True, parameters=[
        {"name": "next", "in": "query", "required": False, "schema": _STRING}]),
    ("/review/login", "POST"): _page("Log in", 429, public=True, form=_form(
        {"username": _STRING, "password": {"type": "string", "format": "password"}, "next": _STRING}), ok={
        "200": {"description": "Login refused: the form again, with the reason.", "content": _HTML},
        "302": {"description": "Logged in: to `next` or the review queue.",
                "headers": {"Location": {"schema": {"type": "string"}}}}}),
    ("/review/logout", "POST"): _page("Log out", form=_form({}), ok={}),
    ("/review/queue/<name>", "GET"): _page("A queue, as cards", 404, 422, parameters=[*_QUERY_FILTERS, _PAGE]),
    ("/review/comments/<path:client_id>", "GET"): _page("A comment and its decision history", 404),
    ("/review/comments/<path:client_id>/decision", "POST"): _page(
        "Approve or reject a comment", 404, 409, 422, form=_DECISION_FORM, ok={"200": {
            "description": "Decided (clients that ask for JSON; browsers are redirected back).",
            **_json({"type": "object", "required": ["ok", "message", "status", "version"], "properties": {
                "ok": {"type": "boolean"}, "message": _STRING, "status": _STRING, "version": {"type": "integer"},
                "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                "card": {"type": "string", "description": "The refreshed card's HTML, on a conflict."}}})}}),
    ("/review/bulk", "GET"): _page("Confirm a bulk decision", 422, parameters=[*_BULK_QUERY, *_QUERY_FILTERS]),
    ("/review/bulk", "POST"): _page("Apply a confirmed bulk decision", 422, form=_form(
        {"queue": _STRING, "decision": {"type": "string", "enum": ["approve", "reject"]},
         "item": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]+:.+"},
                  "description": "VERSION:COMMENT_ID of each confirmed comment."},
         "label": _STRING, "sort_label": _STRING, "min_score": _STRING, "max_score": _STRING}, ("decision",)),
        ok={}),
    ("/review/audit", "GET"): _page("The audit trail of decisions", parameters=[
        {"name": "actor", "in": "query", "required": False, "schema": _STRING,
         "description": "Admins only: one actor's decisions, e.g. user:alice or key:3."}, _PAGE]),
}
OPERATIONS.update(_REVIEW_OPERATIONS)

# Length limits the views enforce on ids in the path.
_PATH_LIMITS = {"article_id": 200, "comment_id": 200, "author_id": 200, "name": 100}


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: ``/v1/articles/<path:article_id>`` -> ``/v1/articles/{article_id}``."""
    return _RULE_ARGUMENT_RE.sub(lambda m: "{" + m.group("name") + "}", rule)


def _path_parameters(rule: str) -> list[dict]:
    parameters = []
    for match in _RULE_ARGUMENT_RE.finditer(rule):
        name, converter = match.group("name"), match.group("converter") or "default"
        schema = {"type": "integer"} if converter == "int" else {
            "type": "string", "minLength": 1, "maxLength": _PATH_LIMITS.get(name, 1000),
            # Werkzeug's path converter matches from a character other than "/".
            "pattern": "^[^/]" if converter == "path" else "^[^/]+$"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _links(spec: dict, operation_ids: dict[tuple[str, str], str]) -> dict:
    """The spec's links as OpenAPI link objects; a link to an operation that is not registered is left out."""
    return {name: {"operationId": operation_ids[link["target"]], "parameters": link["parameters"],
                   "description": link["description"]}
            for name, link in spec.get("links", {}).items() if link["target"] in operation_ids}


def _operation(spec: dict, view, rule: str, method: str, operation_ids: dict[tuple[str, str], str],
               refs: _Refs) -> dict:
    docstring = (view.__doc__ or "").strip().splitlines()
    operation = {"operationId": operation_ids[(rule, method)],
                 "summary": spec.get("summary") or (docstring[0].rstrip(".") if docstring else ""),
                 "tags": spec["tags"]}
    if spec.get("description"):
        operation["description"] = spec["description"]
    parameters = _path_parameters(rule) + spec.get("parameters", [])
    if parameters:
        operation["parameters"] = parameters
    errors = set(spec.get("errors", ()))
    if _RULE_ARGUMENT_RE.search(rule):
        errors.add(404)  # an id the route cannot match (say, with a line break) is a 404 like an unknown one
    if rule.startswith(LIMITED_PREFIXES):
        errors.add(429)
    if spec.get("request"):
        operation["requestBody"] = {"required": True, **_json(refs[(spec["request"], "validation")])}
    if spec.get("form") is not None:
        operation["requestBody"] = {"required": True, **_json(spec["form"], "application/x-www-form-urlencoded")}
    security = spec.get("security")
    scopes = getattr(view, "required_scopes", ())
    if security is None and scopes and _error_family(spec) == "Problem":  # Perspective's routes are described by hand
        security = _KEY_SECURITY
        operation["description"] = (operation.get("description", "") +
                                    f"\n\nNeeds an API key with the `{'` or `'.join(scopes)}` scope.").strip()
    if security is not None:
        operation["security"] = security
    family = _error_family(spec)
    if family == "Problem":
        if spec.get("request"):
            errors |= set(spec.get("body_errors", _JSON_BODY_ERRORS))
        if security == _KEY_SECURITY:
            errors |= set(_KEY_ERRORS)
    errors = {status for status in errors if status in _ERROR_STATUSES[family] and str(status) not in spec["responses"]}
    problems = {str(status): {"$ref": f"#/components/responses/{family}{status}"} for status in sorted(errors)}
    links = _links(spec, operation_ids)
    responses = {status: _response(response, refs) for status, response in spec["responses"].items()}
    responses = {status: {**response, "links": links} if links and status.startswith("2") else response
                 for status, response in responses.items()}
    operation["responses"] = {status: _with_request_id(response)
                              for status, response in {**responses, **problems}.items()}
    return operation


_ERROR_STATUSES = {"Problem": _PROBLEMS, "GoogleError": _GOOGLE_ERRORS, "Ui": _UI_ERRORS}


def _error_family(spec: dict) -> str:
    """Which component responses an operation's errors are: Problem, GoogleError or Ui."""
    if spec.get("problems", True):
        return "Problem"
    return "Ui" if spec["tags"] == ["review-ui"] else "GoogleError"


def _response(response: dict, refs: _Refs) -> dict:
    """An ``OPERATIONS`` response as an OpenAPI response object: the body of a model's is that model's schema."""
    if "model" not in response:
        return response
    return {"description": response["description"], **_json(refs[(response["model"], "serialization")])}


class _UntitledFields(GenerateJsonSchema):
    """Schemas without a title on every field: the field's name says it."""

    def field_title_should_be_set(self, schema) -> bool:
        return False


def _model_schemas() -> tuple[_Refs, dict]:
    """The schemas of every body model ``OPERATIONS`` names and of the error bodies, and the $ref of each model."""
    models = {(ProblemDetails, "serialization"), (ErrorEnvelope, "serialization")}
    for spec in OPERATIONS.values():
        if spec.get("request"):
            models.add((spec["request"], "validation"))
        models |= {(response["model"], "serialization") for response in spec["responses"].values()
                   if "model" in response}
    refs, schemas = models_json_schema(sorted(models, key=lambda pair: (pair[0].__name__, pair[1])),
                                       ref_template=_REF, schema_generator=_UntitledFields)
    return refs, schemas["$defs"]


def _components(refs: _Refs, schemas: dict) -> dict:
    problem, google_error = refs[(ProblemDetails, "serialization")], refs[(ErrorEnvelope, "serialization")]
    responses = {f"Problem{status}": _with_request_id({"description": description, **_json(problem, PROBLEM_JSON)})
                 for status, description in _PROBLEMS.items()}
    responses.update({f"GoogleError{status}": _with_request_id({"description": description,
                                                                **_json(google_error)})
                      for status, description in _GOOGLE_ERRORS.items()})
    responses.update({f"Ui{status}": _with_request_id({"description": description, "content": {
        **_HTML, PROBLEM_JSON: {"schema": problem}}}) for status, description in _UI_ERRORS.items()})
    return {"schemas": dict(sorted(schemas.items())), "responses": responses, "securitySchemes": SECURITY_SCHEMES,
            "headers": {"X-Request-ID": {
                "description": "The request's id: the client's X-Request-ID when sane (printable ASCII, at "
                               "most 128 characters), else a new one. Problem bodies repeat it.",
                "required": True, "schema": {"type": "string"}}}}


def _package_version() -> str:
    try:
        return version("comment-moderation")
    except PackageNotFoundError:
        return "0+unknown"


def build_document(app: Flask) -> dict:
    """The OpenAPI 3.1 document of ``app``'s registered routes (static files and HEAD/OPTIONS left out)."""
    operation_ids: dict[tuple[str, str], str] = {}
    views = {}
    # Longest rule first: of a view's two rules, the full one (/v1alpha1/comments:analyze) keeps the plain id.
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (-len(r.rule), r.rule)):
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - _UNDOCUMENTED_METHODS):
            if (rule.rule, method) not in OPERATIONS:
                continue
            operation_id = f"{rule.endpoint.replace('.', '_')}_{method.lower()}"
            if operation_id in operation_ids.values():
                operation_id += "_" + re.sub(r"\W+", "_", rule.rule).strip("_")
            operation_ids[(rule.rule, method)] = operation_id
            views[(rule.rule, method)] = app.view_functions[rule.endpoint]
    # A second pass, so that links can name any operation's id.
    refs, schemas = _model_schemas()
    paths: dict[str, dict] = {}
    for (rule, method), view in views.items():
        paths.setdefault(openapi_path(rule), {})[method.lower()] = _operation(OPERATIONS[(rule, method)], view, rule,
                                                                              method, operation_ids, refs)
    paths = dict(sorted(paths.items()))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Comment moderation", "version": _package_version(),
                 "description": "Toxicity and off-topic scores, decisions with reasons and explaining spans, "
                                "a review queue; Perspective- and Coral-compatible endpoints. Errors of the "
                                "service's own API are `application/problem+json` (RFC 9457); every response "
                                "carries an `X-Request-ID`."},
        "tags": [{"name": "moderation"}, {"name": "articles"}, {"name": "comments"},
                 {"name": "authors", "description": "Commenters' histories, which the author rules read."},
                 {"name": "wordlists", "description": "Words, phrases and patterns to hold or reject."},
                 {"name": "perspective", "description": "Google Perspective API, as Coral calls it."},
                 {"name": "coral", "description": "Coral Talk's external moderation phase."},
                 {"name": "review-ui", "description": "The moderators' web pages (a login session, not a key)."},
                 {"name": "operations", "description": "Health, readiness, metrics and this document."}],
        "paths": paths,
        "components": _components(refs, schemas),
    }

"""The OpenAPI document: it covers every route, it is valid OpenAPI 3.1, and the service keeps to it, link by link."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful.state_machine import StepInput
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from jsonschema import Draft202012Validator

from moderation.review.authors import REJECTED, History
from moderation.runtime.policy import Decision, Policy, unsupported_language
from moderation.service import authors as author_rules, keys
from moderation.service.wordlists import Entry, Match
from moderation.store.models import Base
from moderation.web.api.openapi import OPERATIONS, openapi_path
from moderation.web.api.schemas import ModerationResult, Reason, as_json

UNDOCUMENTED = {"HEAD", "OPTIONS"}
# No 5xx, and every response's status, media type, headers and body as documented.
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
               response_schema_conformance]
# Examples per operation: bounded so that the whole run stays well under a minute.
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
# The state machine follows the document's own links (none inferred) with valid requests; the operations
# above already get invalid ones.
STATEFUL = {"phases": {"stateful": {"inference": {"algorithms": []}, "generation": {"mode": "positive"}}}}
# Links whose source found or made the very resource they name: following one must not get a 404.
SAME_RESOURCE = {("PUT /v1/articles/{article_id}", "GET /v1/articles/{article_id}"),
                 ("POST /v1/comments/{comment_id}/decision", "GET /v1/comments/{comment_id}")}
# Scenarios per workflow and steps per scenario: bounded so that both workflows take well under a minute.
STATEFUL_SETTINGS = settings(max_examples=30, stateful_step_count=6, deadline=None, derandomize=True, database=None,
                             phases=[Phase.generate], suppress_health_check=list(HealthCheck))
VALID_COMMENTS = st.fixed_dictionaries({
    "id": st.integers(min_value=0) | st.text(min_size=1, max_size=40),
    "text": st.sampled_from(["Great news, the detour added twenty minutes to my drive.",
                             "You are an idiot if you think that bridge is safe."])})


@pytest.fixture
def document(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_every_route_is_documented(app, document):
    missing = [f"{method} {rule.rule}" for rule in app.url_map.iter_rules() if rule.endpoint != "static"
               for method in sorted(rule.methods - UNDOCUMENTED)
               if method.lower() not in document["paths"].get(openapi_path(rule.rule), {})]
    assert not missing, f"routes missing from the OpenAPI document (add them to moderation.web.api.openapi.OPERATIONS): " \
                        f"{missing}"


def test_document_lists_only_registered_routes(app, document):
    registered = {(openapi_path(rule.rule), method.lower()) for rule in app.url_map.iter_rules()
                  for method in rule.methods}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented <= registered


def test_every_documented_route_is_registered(app):
    registered = {(rule.rule, method) for rule in app.url_map.iter_rules() for method in rule.methods}
    stale = sorted(f"{method} {rule}" for rule, method in OPERATIONS if (rule, method) not in registered)
    assert not stale, f"OPERATIONS documents routes that are not registered: {stale}"


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)


def test_protocol_endpoints_are_described():
    for rule in ("/v1alpha1/comments:analyze", "/v1alpha1/comments:suggestscore", "/v1/coral/moderate"):
        assert (rule, "POST") in OPERATIONS


def test_request_bodies_come_from_the_pydantic_models(document):
    schemas = document["components"]["schemas"]
    assert schemas["ModerateRequest"]["properties"]["comments"]["anyOf"][0]["items"] == \
        {"$ref": "#/components/schemas/CommentIn"}
    body = document["paths"]["/v1/moderate"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ModerateRequest"}


def test_response_bodies_come_from_the_models_the_views_build(document):
    schemas = document["components"]["schemas"]
    ok = document["paths"]["/v1/moderate"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/ModerateResponse"}
    assert list(schemas["ModerationResult"]["properties"]) == list(ModerationResult.model_fields)
    problem = document["components"]["responses"]["Problem422"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/ProblemDetails"}


def test_fields_the_schema_does_not_require_are_left_out_not_null(client, auth):
    ready = client.get("/readyz").get_json()
    assert "model_error" not in ready and ready["model_version"] is not None
    result = client.post("/v1/moderate", headers=auth, json={"comment": {"id": 1, "text": "A fine bridge."}})
    assert "language" not in result.get_json()["results"][0]


def _conforms(document, schema: dict, body) -> None:
    """``body`` is valid against ``schema``, whose $refs point into the document's components."""
    Draft202012Validator({**schema, "components": document["components"]}).validate(body)


def _produced_reasons() -> list[dict]:
    """One reason of each kind the service gives, made by the code that gives it."""
    policy = Policy({"toxic": {"flag": 0.3, "review": 0.4, "reject": 0.9}}, ("toxic",))
    held, rejected = policy.decide({"toxic": 0.45}), policy.decide({"toxic": 0.95})
    approved = Decision("approve", [], [])
    by_person = [{"comment_id": "c", "outcome": REJECTED, "by_person": True, "at": None}]
    rules = [
        author_rules.decide(author_rules.AuthorPolicy(hold_first=2), History("a", approved=1), approved, {}, policy),
        author_rules.decide(author_rules.AuthorPolicy(max_rejected_share=0.4), History("a", recent=by_person),
                            approved, {}, policy),
        author_rules.decide(author_rules.AuthorPolicy(trusted_after=2), History("a", approved=3), held,
                            {"toxic": 0.45}, policy),
    ]
    compared = {"context": "article", "text": "The bridge reopens.", "similarity": 0.12, "specificity": 0.8,
                "typical_similarity": 0.41}
    return [*(reason for decision in (held, rejected, *rules) for reason in decision.reasons),
            *unsupported_language("fi").reasons, *unsupported_language(None).reasons,
            {**held.reasons[0], "label": "off_topic", "compared_with": compared},
            Match("abuse", Entry(text="idiot", action="reject", reason="ABUSIVE"), 7, 12).reason(),
            Match("local", Entry(text="cheap-?sunglasses", regex=True), 0, 16).reason()]


def test_every_kind_of_reason_passes_the_model_unchanged_and_keeps_to_the_document(document):
    reasons = _produced_reasons()
    assert {r.get("rule") for r in reasons} == {None, "new_author", "rejected_share", "trusted_author", "wordlist"}
    assert {r["action"] for r in reasons} == {"approve", "review", "reject"}
    for reason in reasons:
        assert as_json(Reason.model_validate(reason)) == {k: v for k, v in reason.items() if v is not None}
        _conforms(document, {"$ref": "#/components/schemas/Reason"}, as_json(Reason.model_validate(reason)))


def test_author_and_word_list_answers_keep_to_the_document(app_factory, document):
    app = app_factory(AUTHOR_POLICY={"hold_first": 1}, STORE_COMMENTS="all")
    client = app.test_client()
    auth = {"X-API-Key": keys.create(app.extensions["moderation.store"], "k", ["score", "review", "admin"])[0]}

    def checked(method: str, rule: str, url: str, status: int = 200, **kwargs):
        response = client.open(url, method=method, headers=auth, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)
        documented = document["paths"][openapi_path(rule)][method.lower()]["responses"][str(status)]
        _conforms(document, documented["content"]["application/json"]["schema"], response.get_json())
        return response.get_json()

    checked("PUT", "/v1/wordlists/<name>", "/v1/wordlists/spam", 201, json={"entries": [
        {"text": "sunglasses", "action": "review", "reason": "AD"}, {"text": "idiot", "regex": True}]})
    checked("GET", "/v1/wordlists/<name>", "/v1/wordlists/spam")
    article = checked("PUT", "/v1/articles/<path:article_id>", "/v1/articles/a1", 201,
                      json={"title": "Bridge", "author_policy": {"hold_first": 2}})
    assert article["author_policy"] == {"hold_first": 2}
    result = checked("POST", "/v1/moderate", "/v1/moderate", json={"comment": {
        "id": "c1", "text": "Evening hours will help students who buy sunglasses.", "author_id": "u1",
        "article_id": "a1"}})["results"][0]
    assert {r.get("rule") for r in result["reasons"]} >= {"wordlist", "new_author"}
    checked("GET", "/v1/comments/<path:comment_id>", "/v1/comments/c1")
    decided = checked("POST", "/v1/comments/<path:comment_id>/decision", "/v1/comments/c1/decision",
                      json={"decision": "reject", "reason": {"code": "OTHER", "detail": "sells sunglasses"}})
    assert decided["rejection_reason"] == decided["history"][-1]["rejection_reason"] == {
        "code": "OTHER", "detail": "sells sunglasses"}
    assert checked("GET", "/v1/authors/<path:author_id>", "/v1/authors/u1")["rejected"] == 1


def test_keyed_operations_declare_the_three_key_schemes_and_problem_errors(document):
    operation = document["paths"]["/v1/moderate"]["post"]
    assert operation["security"] == [{"bearerAuth": []}, {"apiKeyHeader": []}, {"apiKeyQuery": []}]
    assert {"400", "401", "403", "413", "415", "422", "503"} <= set(operation["responses"])
    problem = document["components"]["responses"]["Problem401"]["content"]
    assert list(problem) == ["application/problem+json"]
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_docs_page_lists_every_operation_without_fetching_anything(client, document):
    response = client.get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for path, item in document["paths"].items():
        for method in item:
            assert f"{method.upper()}</span> <code>{path}</code>" in page
    assert "<script" not in page and 'src="http' not in page and 'href="http' not in page
    assert 'href="#schema-ModerateRequest"' in page


def _links(document) -> dict[tuple[str, str], list[dict]]:
    """Every link, by (source, target) operation label such as ``PUT /v1/articles/{article_id}``."""
    labels = {operation["operationId"]: f"{method.upper()} {path}"
              for path, item in document["paths"].items() for method, operation in item.items()}
    links: dict[tuple[str, str], list[dict]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for response in operation["responses"].values():
                for link in response.get("links", {}).values():
                    links.setdefault((f"{method.upper()} {path}", labels[link["operationId"]]), []).append(link)
    return links


def test_links_chain_articles_and_moderated_comments(document):
    parameters = {pair: [link["parameters"] for link in links] for pair, links in _links(document).items()}
    assert parameters[("PUT /v1/articles/{article_id}", "GET /v1/articles/{article_id}")] == \
        2 * [{"article_id": "$response.body#/id"}]  # from 200 (replaced) and 201 (created)
    for target in ("GET /v1/comments/{comment_id}", "POST /v1/comments/{comment_id}/decision"):
        assert parameters[("POST /v1/moderate", target)] == [{"comment_id": "$response.body#/results/0/id"}]


def test_links_fill_exactly_the_path_parameters_of_their_target(document):
    for (_, target), links in _links(document).items():
        method, path = target.split(" ")
        names = {p["name"] for p in document["paths"][path][method.lower()].get("parameters", []) if p["in"] == "path"}
        assert all(set(link["parameters"]) == names for link in links), target


@pytest.fixture
def admin_key(make_key):
    return make_key("score", "review", "admin", name="schemathesis")


def _cases():
    """(rule, method, mode) for every documented operation; negative data only where there is input to spoil."""
    for (rule, method), spec in sorted(OPERATIONS.items()):
        yield pytest.param(rule, method, GenerationMode.POSITIVE, id=f"{method} {rule} positive")
        if "<" in rule or spec.get("request") or spec.get("parameters") or spec.get("form", {}).get("required"):
            yield pytest.param(rule, method, GenerationMode.NEGATIVE, id=f"{method} {rule} negative")


@pytest.mark.slow  # schemathesis
@pytest.mark.parametrize("rule, method, mode", list(_cases()))
def test_service_keeps_to_its_document(app, admin_key, rule, method, mode):
    """Generated requests, with a valid key, never get a 5xx and always get a documented response."""
    operation = schemathesis.openapi.from_wsgi("/openapi.json", app)[openapi_path(rule)][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def keeps_to_document(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {admin_key}"}, checks=CONFORMANCE)

    keeps_to_document()


def _empty_store_but_keys(app) -> None:
    """Delete everything but API keys and users: each scenario starts from the same state, as Hypothesis needs."""
    with app.extensions["moderation.store"].session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in ("api_keys", "users"):
                session.execute(table.delete())


@pytest.fixture
def storing_app(app_factory):
    """An app that keeps every comment it moderates, so that links from POST /v1/moderate lead somewhere."""
    return app_factory(STORE_COMMENTS="all")


def _workflow(app, tags: list[str]) -> tuple[type, set, set]:
    """A state machine over the links between the operations tagged ``tags``, the links it follows, and all of them.

    Every call carries a valid key; every response must keep to the document; a link whose source found or made
    the resource must find it.
    """
    key, _ = keys.create(app.extensions["moderation.store"], "schemathesis", ("score", "review", "admin"))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app, config=SchemathesisConfig.from_dict(STATEFUL))
    document = app.test_client().get("/openapi.json").get_json()
    operations = {f"{method.upper()} {path}" for path, item in document["paths"].items()
                  for method, operation in item.items() if set(operation["tags"]) & set(tags)}
    followed: set[tuple[str, str]] = set()

    class Workflow(schema.include(tag=tags).as_state_machine()):
        def setup(self):
            _empty_store_but_keys(app)
            self.outputs = {}

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {key}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CONFORMANCE, transport_kwargs=kwargs or None,
                                   recorder=self.recorder)

        def step(self, input):
            output = self.outputs[input.case.id] = super().step(input)
            if input.transition is not None and input.is_applied:
                source = self.outputs[input.transition.parent_id]
                pair = (source.case.operation.label, input.case.operation.label)
                followed.add(pair)
                assert pair not in SAME_RESOURCE or output.response.status_code != 404, \
                    f"{pair[1]} did not find what {pair[0]} answered {source.response.status_code} for"
            return output

    return Workflow, followed, {pair for pair in _links(document) if set(pair) <= operations}


# A workflow of its own: schemathesis starts scenarios from POSTs only, when there are any, never from this PUT.
@pytest.mark.slow  # schemathesis
def test_article_links_keep_to_the_document(storing_app):
    workflow, followed, links = _workflow(storing_app, ["articles"])
    workflow.run(settings=STATEFUL_SETTINGS)
    assert links and followed == links, f"links never followed: {sorted(links - followed)}"


@pytest.mark.slow  # schemathesis
def test_comment_links_keep_to_the_document(storing_app):
    workflow, followed, links = _workflow(storing_app, ["moderation", "comments"])
    moderate = workflow.schema["/v1/moderate"]["POST"]

    class Seeded(workflow):
        # Generated moderation bodies are mostly refused (the document allows `{}`): start from a valid one.
        @initialize(target=Bundle("seeds"), comment=VALID_COMMENTS)
        def moderate_a_valid_comment(self, comment):
            case = moderate.Case(body={"comment": comment})
            self.recorder.record_case(case=case)
            return self.step(StepInput.initial(case))

    Seeded.run(settings=STATEFUL_SETTINGS)
    assert links and followed == links, f"links never followed: {sorted(links - followed)}"

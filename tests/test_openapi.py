"""The OpenAPI document: it covers every route, it is valid OpenAPI 3.1, and the service keeps to it."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from moderation.openapi import OPERATIONS, openapi_path

UNDOCUMENTED = {"HEAD", "OPTIONS"}
# No 5xx, and every response's status, media type, headers and body as documented.
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
               response_schema_conformance]
# Examples per operation: bounded so that the whole run stays well under a minute.
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}


@pytest.fixture
def document(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_every_route_is_documented(app, document):
    missing = [f"{method} {rule.rule}" for rule in app.url_map.iter_rules() if rule.endpoint != "static"
               for method in sorted(rule.methods - UNDOCUMENTED)
               if method.lower() not in document["paths"].get(openapi_path(rule.rule), {})]
    assert not missing, f"routes missing from the OpenAPI document (add them to moderation.openapi.OPERATIONS): " \
                        f"{missing}"


def test_document_lists_only_registered_routes(app, document):
    registered = {(openapi_path(rule.rule), method.lower()) for rule in app.url_map.iter_rules()
                  for method in rule.methods}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert documented <= registered


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


@pytest.fixture
def admin_key(make_key):
    return make_key("score", "review", "admin", name="schemathesis")


def _cases():
    """(rule, method, mode) for every documented operation; negative data only where there is input to spoil."""
    for (rule, method), spec in sorted(OPERATIONS.items()):
        yield pytest.param(rule, method, GenerationMode.POSITIVE, id=f"{method} {rule} positive")
        if "<" in rule or spec.get("request") or spec.get("parameters") or spec.get("form", {}).get("required"):
            yield pytest.param(rule, method, GenerationMode.NEGATIVE, id=f"{method} {rule} negative")


@pytest.mark.parametrize("rule, method, mode", list(_cases()))
def test_service_keeps_to_its_document(app, admin_key, rule, method, mode):
    """Generated requests, with a valid key, never get a 5xx and always get a documented response."""
    if not any(r.rule == rule and method in r.methods for r in app.url_map.iter_rules()):
        pytest.skip(f"{method} {rule} is not registered")
    operation = schemathesis.openapi.from_wsgi("/openapi.json", app)[openapi_path(rule)][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def keeps_to_document(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {admin_key}"}, checks=CONFORMANCE)

    keeps_to_document()

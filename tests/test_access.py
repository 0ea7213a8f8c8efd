"""The access matrix over every route: no key, wrong key, revoked key, key without the scope, right key.

New routes are checked automatically: a route outside the public list must refuse a request without
credentials, so forgetting to protect one fails this test.
"""
import re

import pytest

from moderation.service import keys

PUBLIC = {"/static/<path:filename>", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/review/login"}
SAMPLE = {"article_id": "a1", "comment_id": "c1", "name": "review", "client_id": "c1", "filename": "review.css",
          "author_id": "u1"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: SAMPLE[m.group(1)], rule.rule)
            yield rule.rule, method, path, app.view_functions[rule.endpoint]


def _is_perspective(rule):
    return "comments:" in rule


def _refused(response, rule):
    if _is_perspective(rule):
        error = response.get_json()["error"]
        return response.status_code in (400, 403) and error["status"] in ("INVALID_ARGUMENT", "PERMISSION_DENIED")
    if rule.startswith("/review"):
        return response.status_code in (302, 401, 403) and (response.status_code != 302 or
                                                           "/review/login" in response.headers["Location"])
    return response.status_code in (401, 403) and response.mimetype == "application/problem+json"


def test_every_non_public_route_refuses_anonymous_wrong_and_revoked_credentials(app):
    client = app.test_client()
    store = app.extensions["moderation.store"]
    secret, info = keys.create(store, "k", ["score", "review", "admin"])
    keys.revoke(store, info.prefix)
    checked = 0
    for rule, method, path, view in _routes(app):
        if rule in PUBLIC:
            continue
        for headers in ({}, {"X-API-Key": "mk_00000000_wrong"}, {"X-API-Key": secret}):
            response = client.open(path, method=method, json={}, headers=headers)
            assert _refused(response, rule), (method, rule, headers, response.status_code, response.get_data()[:200])
        checked += 1
    assert checked >= 18


def test_v1_routes_declare_a_scope_and_enforce_it(app):
    client = app.test_client()
    store = app.extensions["moderation.store"]
    by_scope = {scope: keys.create(store, scope, [scope])[0] for scope in keys.SCOPES}
    for rule, method, path, view in _routes(app):
        if not rule.startswith("/v1/"):
            continue
        (scope,) = getattr(view, "required_scopes", (None,))
        assert scope in keys.SCOPES, f"{method} {rule} declares no scope"
        for other in set(keys.SCOPES) - {scope, "admin"}:
            response = client.open(path, method=method, json={}, headers={"X-API-Key": by_scope[other]})
            assert response.status_code == 403, (method, rule, other)
        for allowed in (scope, "admin"):
            response = client.open(path, method=method, json={}, headers={"X-API-Key": by_scope[allowed]})
            assert response.status_code not in (401, 403), (method, rule, allowed, response.status_code)


@pytest.mark.parametrize("path", ["/v1alpha1/comments:analyze", "/comments:suggestscore"])
def test_perspective_routes_need_a_valid_key_in_googles_shape(client, make_key, path):
    assert client.post(path, json={}).get_json()["error"]["status"] == "PERMISSION_DENIED"
    assert client.post(path + "?key=mk_0_bad", json={}).get_json()["error"]["message"].startswith("API key not valid")
    reviewer = make_key("admin")
    assert client.post(f"{path}?key={reviewer}", json={}).status_code == 400  # past auth, now the body is wrong


def test_public_routes_answer_without_credentials(client):
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/review/login"):
        assert client.get(path).status_code == 200, path

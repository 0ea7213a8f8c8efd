"""API keys: every /v1 route needs one, with the right scope; revoked and wrong keys are refused."""
import pytest

from moderation.service import keys

V1_ROUTES = [("POST", "/v1/moderate"), ("PUT", "/v1/articles/a"), ("GET", "/v1/articles/a")]


@pytest.mark.parametrize("method, path", V1_ROUTES)
def test_no_key_wrong_key_and_revoked_key(client, app, method, path):
    response = client.open(path, method=method, json={})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert client.open(path, method=method, json={}, headers={"X-API-Key": "mk_nope_nope"}).status_code == 401
    secret, info = keys.create(app.extensions["moderation.store"], "k", ["score"])
    prefix = secret.split("_")[1]
    tampered = secret[:-2] + ("AA" if not secret.endswith("AA") else "BB")
    assert client.open(path, method=method, json={}, headers={"X-API-Key": tampered}).status_code == 401
    assert client.open(path, method=method, json={}, headers={"X-API-Key": secret}).status_code != 401
    keys.revoke(app.extensions["moderation.store"], prefix)
    app.extensions["moderation.keys"]._cache.clear()
    assert client.open(path, method=method, json={}, headers={"X-API-Key": secret}).status_code == 401


def test_key_accepted_as_bearer_header_and_query(client, make_key):
    secret = make_key("score")
    body = {"comment": {"id": 1, "text": "fine"}}
    assert client.post("/v1/moderate", json=body, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert client.post(f"/v1/moderate?key={secret}", json=body).status_code == 200


def test_scope_is_enforced(client, make_key):
    review_only = make_key("review")
    response = client.post("/v1/moderate", json={"comment": {"id": 1, "text": "x"}},
                           headers={"X-API-Key": review_only})
    assert response.status_code == 403 and "score" in response.get_json()["detail"]
    admin = make_key("admin")
    assert client.post("/v1/moderate", json={"comment": {"id": 1, "text": "x"}},
                       headers={"X-API-Key": admin}).status_code == 200


def test_keys_are_stored_hashed_and_scopes_validated(app):
    store = app.extensions["moderation.store"]
    secret, info = keys.create(store, "k", ["score", "review"])
    from sqlalchemy import select

    from moderation.store.models import ApiKey
    with store.session() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.id == info.id)).one()
        assert secret.split("_", 2)[2] not in row.secret_hash and len(row.secret_hash) == 64
    with pytest.raises(keys.KeyError_, match="unknown: root"):
        keys.create(store, "k", ["root"])
    with pytest.raises(keys.KeyError_, match="no API key"):
        keys.revoke(store, "ffffffff")


def test_a_key_whose_prefix_is_all_digits_is_revoked_by_its_prefix(app, monkeypatch):
    """Random hex prefixes are all digits about once in forty; such a prefix was once read as a key id."""
    store = app.extensions["moderation.store"]
    first, _ = keys.create(store, "first", ["score"])
    monkeypatch.setattr(keys.secrets, "token_hex", lambda size: "03345051")
    digits, info = keys.create(store, "digits", ["score"])
    assert keys.revoke(store, "03345051").id == info.id
    assert keys.KeyVerifier(store).verify(digits) is None and keys.KeyVerifier(store).verify(first) is not None
    assert keys.revoke(store, str(keys.list_keys(store)[0].id)).name == "first"  # ids still work


def test_keys_cli_create_list_revoke(tmp_path, monkeypatch, capsys):
    from moderation.cli import main

    monkeypatch.setenv("MODERATION_HOME", str(tmp_path))
    monkeypatch.delenv("MODERATION_DATABASE_URL", raising=False)

    def run(*argv, code=0):
        with pytest.raises(SystemExit) as exit_info:
            main(list(argv))
        out, err = capsys.readouterr()
        assert exit_info.value.code == code, err
        return out, err

    out, err = run("keys", "create", "--name", "coral", "--scopes", "score,review")
    secret = out.strip()
    assert secret.startswith("mk_") and "not shown again" in err
    out, _ = run("keys", "list")
    assert "coral" in out and "score,review" in out and secret.split("_", 2)[2] not in out
    out, _ = run("keys", "revoke", secret)
    assert "revoked" in out
    assert "revoked" in run("keys", "list")[0]
    _, err = run("keys", "create", "--name", "x", "--scopes", "god", code=2)
    assert "god" in err

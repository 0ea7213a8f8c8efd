"""Per-key API rate limits, in memory and shared through the real Redis at 127.0.0.1:6379."""
import pytest

from moderation.service import keys

BODY = {"comment": {"id": 1, "text": "Nice bridge."}}


def _key(app, *scopes):
    secret, _ = keys.create(app.extensions["moderation.store"], "k", scopes or ["score"])
    return {"X-API-Key": secret}


def test_limit_per_key_answers_429_problem_with_retry_after(app_factory):
    app = app_factory(RATE_LIMIT="3/minute")
    client, first, second = app.test_client(), _key(app), _key(app)
    assert [client.post("/v1/moderate", json=BODY, headers=first).status_code for _ in range(3)] == [200] * 3
    limited = client.post("/v1/moderate", json=BODY, headers=first)
    assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    assert client.post("/v1/moderate", json=BODY, headers=second).status_code == 200
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))


def test_requests_without_a_key_are_limited_by_address(app_factory):
    app = app_factory(RATE_LIMIT="2/minute")
    client = app.test_client()
    assert [client.post("/v1/moderate", json=BODY).status_code for _ in range(3)] == [401, 401, 429]


@pytest.mark.redis
def test_redis_storage_shares_limits_between_processes(app_factory, tmp_path):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2).ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis is required at 127.0.0.1:6379 for this test: {error}")
    config = {"RATE_LIMIT": "4/minute", "RATE_LIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
              "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}"}
    one, two = app_factory(**config), app_factory(**config)
    headers = _key(one)
    statuses = [app.test_client().post("/v1/moderate", json=BODY, headers=headers).status_code
                for app in (one, two, one, two, one, two)]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_unreachable_redis_fails_open(app_factory):
    app = app_factory(RATE_LIMIT="1/minute", RATE_LIMIT_STORAGE_URI="redis://127.0.0.1:1")
    headers = _key(app)
    client = app.test_client()
    assert [client.post("/v1/moderate", json=BODY, headers=headers).status_code for _ in range(3)] == [200] * 3


def test_limiter_keeps_a_503s_own_retry_after(app_factory, tmp_path):
    app = app_factory(RATE_LIMIT="100/minute", MODELS_DIR=str(tmp_path / "no-models"))
    response = app.test_client().post("/v1/moderate", json=BODY, headers=_key(app))
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"

"""Hostile and arbitrary input never causes a server error, and what the API accepts it answers fully."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.model.comment import Comment
from moderation.model.text import normalize, tokenize
from moderation.runtime.scorer import Scorer

from hostile_inputs import cases


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory, tiny_registry):
    from moderation.service import keys
    from moderation.web.app import create_app, shutdown

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'h.db'}",
                      "MODELS_DIR": str(tiny_registry.root), "MODEL_POLL_SECONDS": 0, "TESTING": True,
                      "RATE_LIMIT": ""})
    secret, _ = keys.create(app.extensions["moderation.store"], "k", ["score"])
    yield app.test_client(), {"X-API-Key": secret}, app
    shutdown(app)


@pytest.mark.parametrize("name, content_type, body", cases(2 * 1024 * 1024), ids=lambda v: v if isinstance(v, str) else "")
def test_hostile_bodies_get_a_clear_answer(hostile_client, name, content_type, body):
    client, headers, app = hostile_client
    response = client.post("/v1/moderate", data=body, headers={**headers, "Content-Type": content_type})
    assert response.status_code < 500, (name, response.get_data(as_text=True)[:300])
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["status"] == response.status_code and problem["detail"]
    else:
        results = response.get_json()["results"]
        assert len(results) == 1 and results[0]["decision"] in ("approve", "review", "reject")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    json_values,
    st.fixed_dictionaries({"comment": st.fixed_dictionaries({"id": st.integers() | st.text(max_size=20),
                                                             "text": st.text(max_size=300)})}),
    st.fixed_dictionaries({"comments": st.lists(st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=10), "text": st.text(min_size=1, max_size=200),
         "article_id": st.none() | st.text(max_size=10), "parent_id": st.none() | st.text(max_size=10)}),
        max_size=5)})))
def test_arbitrary_json_never_causes_a_server_error(hostile_client, body):
    client, headers, _ = hostile_client
    response = client.post("/v1/moderate", data=json.dumps(body), headers={**headers, "Content-Type": "application/json"})
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.mimetype in ("application/json", "application/problem+json")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=2000), article=st.none() | st.text(max_size=300),
       thread=st.lists(st.text(max_size=100), max_size=5))
def test_scoring_arbitrary_unicode_gives_probabilities(tiny_registry, text, article, thread):
    scorer = _scorer(tiny_registry)
    scores = scorer.predict([Comment(text, article, tuple(thread))])
    assert scores.shape == (1, len(scorer.labels))
    assert ((scores >= 0) & (scores <= 1)).all()
    assert all(isinstance(t, str) for t in tokenize(normalize(text)))


_scorers = {}


def _scorer(registry):
    if registry.root not in _scorers:
        _scorers[registry.root] = Scorer(registry.load_current())
    return _scorers[registry.root]

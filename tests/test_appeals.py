"""Appeals: a rejected comment comes back to moderators with its author's words, and the decision goes back."""
import json

import pytest

from moderation.review import queue
from moderation.service import keys
from moderation.store.models import OutboxEvent

REJECTS = {"toxic": {"review": 0.01, "reject": 0.02}}  # the tiny model rejects "You idiot" outright
EVENTS = "comment.held,comment.released,comment.decided"


@pytest.fixture
def service(app_factory, database_url):
    config = {"POLICY": REJECTS, "WEBHOOK_URL": "http://127.0.0.1:9/hook", "WEBHOOK_POLL_SECONDS": 0,
              "WEBHOOK_EVENTS": EVENTS, "LANGUAGE_DETECTION": False}
    app = app_factory(**config, **({"DATABASE_URL": database_url} if database_url else {}))
    secret, _ = keys.create(app.extensions["moderation.store"], "cms", ["score", "review"])
    client, headers = app.test_client(), {"X-API-Key": secret}
    body = client.post("/v1/moderate", headers=headers, json={"comment": {
        "id": "a1", "text": "You idiot", "article_id": "bridge", "author_id": "u1"}}).get_json()
    assert body["results"][0]["decision"] == "reject"
    return app, client, headers


def _events(app) -> list[tuple[str, dict]]:
    with app.extensions["moderation.store"].session() as session:
        return [(e.event_type, e.payload) for e in session.query(OutboxEvent).order_by(OutboxEvent.id)]


def test_an_appeal_comes_back_to_the_queue_and_its_decision_goes_back(service):
    app, client, headers = service
    response = client.post("/v1/comments/a1/appeal", headers=headers,
                           json={"text": "I was quoting the councillor, not calling anyone names."})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "appealed" and body["appeal"]["from_status"] == "rejected"
    assert body["appeal"]["from_decided_by"] is None and body["appeal"]["text"].startswith("I was quoting")
    assert [(h["decision"], h["note"]) for h in body["history"]] == [("appeal", body["appeal"]["text"])]
    store = app.extensions["moderation.store"]
    assert [c.client_id for c in queue.listing(store, queue.QueueQuery("appeals"))[0]] == ["a1"]
    assert queue.counts(store)["appeals"] == 1 and queue.counts(store)["auto-rejected"] == 0
    decided = client.post("/v1/comments/a1/decision", headers=headers, json={"decision": "approve"}).get_json()
    assert decided["status"] == "approved" and [h["decision"] for h in decided["history"]] == ["appeal", "approve"]
    kinds = [kind for kind, _ in _events(app)]
    assert kinds == ["comment.held", "comment.decided", "comment.released"]
    held, decision, released = (payload for _, payload in _events(app))
    assert held["status"] == "appealed" and held["appeal"].startswith("I was quoting")
    assert decision["appeal"] is True and decision["decision"] == "approve" and released["status"] == "approved"
    author = client.get("/v1/authors/u1", headers=headers).get_json()
    assert author["approved"] == 1 and author["auto_rejected"] == 0  # the appealed rejection became an approval


HELD = {"scores": {"toxic": 0.4}, "flags": ["toxic"], "decision": "review", "reasons": [], "spans": []}


@pytest.mark.parametrize("setup", ["held", "approved", "appealed"])
def test_only_a_rejected_comment_can_be_appealed(service, setup):
    app, client, headers = service
    store = app.extensions["moderation.store"]
    queue.save(store, [queue.ToStore("h1", "Not sure about this bridge.", None, None, None, HELD, None, "v0")])
    comment_id = "h1" if setup == "held" else "a1"
    if setup == "approved":
        client.post("/v1/comments/a1/decision", headers=headers, json={"decision": "approve"})
    if setup == "appealed":
        assert client.post("/v1/comments/a1/appeal", headers=headers, json={"text": "please"}).status_code == 200
    before = queue.get(store, comment_id)[0]
    response = client.post(f"/v1/comments/{comment_id}/appeal", headers=headers, json={"text": "again"})
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert "only a rejected comment can be appealed" in problem["detail"]
    assert (problem["current_status"], problem["version"]) == (before.status, before.version)
    assert queue.get(store, comment_id)[0].version == before.version  # nothing changed


def test_bad_appeals_are_clear_errors(service):
    app, client, headers = service
    assert client.post("/v1/comments/nope/appeal", headers=headers, json={"text": "x"}).status_code == 404
    too_long = client.post("/v1/comments/a1/appeal", headers=headers, json={"text": "x" * 5001})
    assert too_long.status_code == 422 and too_long.get_json()["field"] == "text"
    assert client.post("/v1/comments/a1/appeal", headers=headers, json={"words": "x"}).status_code == 422
    assert queue.get(app.extensions["moderation.store"], "a1")[0].status == "rejected"  # nothing changed


def test_the_appeals_queue_shows_the_commenters_words(service, tmp_path):
    app, client, headers = service
    client.post("/v1/comments/a1/appeal", headers=headers, json={"text": "I was quoting <b>the councillor</b>."})
    from moderation.review import users

    users.create(app.extensions["moderation.store"], "mod", "correct horse battery", "moderator")
    ui = app.test_client()
    page = ui.get("/review/login").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    ui.post("/review/login", data={"username": "mod", "password": "correct horse battery", "csrf_token": token})
    html = ui.get("/review/queue/appeals").get_data(as_text=True)
    assert "data-appeal" in html and "I was quoting &lt;b&gt;the councillor&lt;/b&gt;." in html
    assert "by the service" in html and 'data-count="appeals">1<' in html


def test_a_rejection_under_appeal_teaches_nothing_until_it_is_decided(service):
    from moderation.review.export import training_rows

    app, client, headers = service
    store = app.extensions["moderation.store"]
    client.post("/v1/comments/a1/decision", headers=headers, json={"decision": "reject"})
    assert [row["toxic"] for row in training_rows(store, include_feedback=False)] == [1]
    client.post("/v1/comments/a1/appeal", headers=headers, json={"text": "It was a quote."})
    assert training_rows(store, include_feedback=False) == []
    client.post("/v1/comments/a1/decision", headers=headers, json={"decision": "approve"})
    assert [row["toxic"] for row in training_rows(store, include_feedback=False)] == [0]

"""Decisions reach the comment system's webhook: signed, retried with back-off, never lost while it is down."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from moderation.review import queue, webhooks
from moderation.service import keys
from moderation.store.models import OutboxEvent

SECRET = "whsec_test_secret"


class Receiver:
    """A real HTTP server on loopback that records what it receives and can be told to fail."""

    def __init__(self):
        self.received, self.status = [], 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _app_with_comment(app_factory, url, database_url=None):
    config = {"WEBHOOK_URL": url, "WEBHOOK_SECRET": SECRET, "WEBHOOK_POLL_SECONDS": 0, "STORE_COMMENTS": "all"}
    if database_url:
        config["DATABASE_URL"] = database_url
    app = app_factory(**config)
    store = app.extensions["moderation.store"]
    secret, _ = keys.create(store, "k", ["score", "review"])
    headers = {"X-API-Key": secret}
    app.test_client().post("/v1/moderate", json={"comment": {"id": "w1", "text": "You idiot", "article_id": "a"}},
                           headers=headers)
    return app, store, headers


def test_decision_is_delivered_signed(app_factory, receiver, database_url):
    app, store, headers = _app_with_comment(app_factory, receiver.url, database_url)
    app.test_client().post("/v1/comments/w1/decision", headers=headers, json={"decision": "reject", "note": "abuse"})
    assert app.extensions["moderation.webhooks"].run_once() == (1, 0)
    (received_headers, body), = receiver.received
    event = json.loads(body)
    assert event["type"] == "comment.decided"
    assert event["data"]["comment_id"] == "w1" and event["data"]["decision"] == "reject"
    assert received_headers["X-Moderation-Delivery"] == str(event["id"])
    assert webhooks.verify(SECRET, received_headers["X-Moderation-Signature"], body)
    assert not webhooks.verify(SECRET, received_headers["X-Moderation-Signature"], body + b" ")
    assert not webhooks.verify("other", received_headers["X-Moderation-Signature"], body)
    assert app.extensions["moderation.webhooks"].run_once() == (0, 0)  # delivered once, not again


def test_receiver_down_then_back(app_factory, receiver):
    app, store, headers = _app_with_comment(app_factory, receiver.url)
    receiver.status = 503
    app.test_client().post("/v1/comments/w1/decision", headers=headers, json={"decision": "approve"})
    dispatcher = app.extensions["moderation.webhooks"]
    assert dispatcher.run_once() == (0, 1)
    with store.session() as session:
        event = session.query(OutboxEvent).one()
        assert event.attempts == 1 and event.delivered_at is None and "503" in event.last_error
        event.next_attempt_at = event.created_at  # skip the back-off wait
    receiver.status = 200
    assert dispatcher.run_once() == (1, 0)
    assert len(receiver.received) == 2


def test_unreachable_receiver_keeps_the_event(app_factory, receiver):
    receiver.close()
    app, store, headers = _app_with_comment(app_factory, receiver.url)
    app.test_client().post("/v1/comments/w1/decision", headers=headers, json={"decision": "approve"})
    assert app.extensions["moderation.webhooks"].run_once() == (0, 1)
    with store.session() as session:
        assert session.query(OutboxEvent).filter(OutboxEvent.delivered_at.is_(None)).count() == 1


def test_backoff_grows_and_is_capped():
    assert 1.8 <= webhooks.backoff(1) <= 2.2
    assert 57 <= webhooks.backoff(6) <= 71
    assert webhooks.backoff(40) <= webhooks.MAX_BACKOFF_SECONDS * 1.1


def test_replayed_old_signature_is_refused():
    body = b'{"x":1}'
    header = webhooks.sign(SECRET, 1_000_000, body)
    assert webhooks.verify(SECRET, header, body, now=1_000_100)
    assert not webhooks.verify(SECRET, header, body, now=1_000_000 + 3600)
    assert not webhooks.verify(SECRET, "garbage", body)


def test_no_webhook_configured_queues_nothing(app_factory):
    app = app_factory(STORE_COMMENTS="all")
    store = app.extensions["moderation.store"]
    secret, _ = keys.create(store, "k", ["score", "review"])
    client = app.test_client()
    client.post("/v1/moderate", json={"comment": {"id": "n", "text": "You idiot"}}, headers={"X-API-Key": secret})
    queue.decide(store, "n", "approve", "user:x")
    with store.session() as session:
        assert session.query(OutboxEvent).count() == 0


QUEUE_EVENTS = "comment.held, comment.released,comment.decided"
HOLDS_TOXIC = {"toxic": {"review": 0.01, "reject": 1.0}}


def test_a_subscriber_hears_a_comment_enter_and_leave_the_queue(app_factory, receiver, database_url):
    config = {"WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": SECRET, "WEBHOOK_POLL_SECONDS": 0,
              "WEBHOOK_EVENTS": QUEUE_EVENTS, "POLICY": HOLDS_TOXIC}
    app = app_factory(**config, **({"DATABASE_URL": database_url} if database_url else {}))
    secret, _ = keys.create(app.extensions["moderation.store"], "k", ["score", "review"])
    client, headers = app.test_client(), {"X-API-Key": secret}
    comment = {"comment": {"id": "q1", "text": "You idiot", "article_id": "a", "author_id": "u1"}}
    for _ in range(2):  # a retried request: the comment entered the queue once
        assert client.post("/v1/moderate", json=comment, headers=headers).get_json()["results"][0]["decision"] == "review"
    assert client.post("/v1/comments/q1/decision", headers=headers, json={"decision": "approve"}).status_code == 200
    assert app.extensions["moderation.webhooks"].run_once() == (3, 0)
    events = [json.loads(body) for _, body in receiver.received]
    assert [e["type"] for e in events] == ["comment.held", "comment.decided", "comment.released"]
    held, decided, released = (e["data"] for e in events)
    assert held["comment_id"] == "q1" and held["author_id"] == "u1" and held["status"] == "pending"
    assert held["scores"]["toxic"] > 0.01 and "toxic" in {r["label"] for r in held["reasons"]}
    assert decided["decision"] == released["decision"] == "approve" and released["status"] == "approved"
    assert [h["X-Moderation-Event"] for h, _ in receiver.received] == [e["type"] for e in events]


def test_a_comment_decided_outside_the_queue_is_not_released(app_factory, receiver):
    app = app_factory(WEBHOOK_URL=receiver.url, WEBHOOK_POLL_SECONDS=0, WEBHOOK_EVENTS=QUEUE_EVENTS,
                      POLICY={"toxic": {"review": 0.01, "reject": 0.02}})
    secret, _ = keys.create(app.extensions["moderation.store"], "k", ["score", "review"])
    client, headers = app.test_client(), {"X-API-Key": secret}
    body = client.post("/v1/moderate", json={"comment": {"id": "r1", "text": "You idiot"}}, headers=headers).get_json()
    assert body["results"][0]["decision"] == "reject"  # rejected by the service: never in the queue
    client.post("/v1/comments/r1/decision", headers=headers, json={"decision": "approve"})
    app.extensions["moderation.webhooks"].run_once()
    assert [json.loads(b)["type"] for _, b in receiver.received] == ["comment.decided"]


def test_by_default_a_webhook_hears_decisions_only_and_an_unknown_event_is_refused(app_factory, receiver):
    app = app_factory(WEBHOOK_URL=receiver.url, WEBHOOK_POLL_SECONDS=0, POLICY=HOLDS_TOXIC)
    assert app.config["WEBHOOK_EVENTS"] == {"comment.decided"}
    secret, _ = keys.create(app.extensions["moderation.store"], "k", ["score", "review"])
    app.test_client().post("/v1/moderate", json={"comment": {"id": "d1", "text": "You idiot"}},
                           headers={"X-API-Key": secret})
    with app.extensions["moderation.store"].session() as session:
        assert session.query(OutboxEvent).count() == 0
    with pytest.raises(ValueError, match="unknown webhook event 'comment.deleted'"):
        app_factory(WEBHOOK_URL=receiver.url, WEBHOOK_EVENTS="comment.held,comment.deleted")

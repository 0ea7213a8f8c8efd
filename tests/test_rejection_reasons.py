"""Rejection reason codes: given with a decision (or suggested from the comment's reasons), carried by the comment,
its history and the webhook, and offered on the card."""
import json
import re

import pytest

from moderation.review import reasons, users
from moderation.service import keys

from test_webhooks import SECRET, Receiver

HELD = "You are an idiot if you think that bridge is safe."  # held by the tiny model for toxic and insult


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def stocked(app_factory, **config):
    app = app_factory(STORE_COMMENTS="all", **config)
    store = app.extensions["moderation.store"]
    headers = {"X-API-Key": keys.create(store, "k", ["score", "review", "admin"])[0]}
    client = app.test_client()
    for i in range(3):
        client.post("/v1/moderate", headers=headers, json={"comment": {"id": f"c{i}", "text": HELD}})
    return app, client, headers


def test_a_rejections_reason_code_reaches_the_webhook_and_the_comment(app_factory, receiver, database_url):
    app, client, headers = stocked(app_factory, DATABASE_URL=database_url, WEBHOOK_URL=receiver.url,
                                   WEBHOOK_SECRET=SECRET, WEBHOOK_POLL_SECONDS=0)
    decided = client.post("/v1/comments/c0/decision", headers=headers, json={
        "decision": "reject", "reason": {"code": "other", "detail": "doxxing a neighbour"}})
    assert decided.status_code == 200
    assert decided.get_json()["rejection_reason"] == {"code": "OTHER", "detail": "doxxing a neighbour"}
    assert decided.get_json()["history"][-1]["rejection_reason"] == {"code": "OTHER", "detail": "doxxing a neighbour"}
    client.post("/v1/comments/c1/decision", headers=headers, json={"decision": "reject"})
    client.post("/v1/comments/c2/decision", headers=headers, json={"decision": "reject", "reason": "SPAM"})
    assert app.extensions["moderation.webhooks"].run_once() == (3, 0)
    sent = {event["data"]["comment_id"]: event["data"]["rejection_reason"]
            for event in (json.loads(body) for _, body in receiver.received)}
    # c1: none given, so the one its reasons suggest (insult, the most specific of its labels)
    assert sent == {"c0": {"code": "OTHER", "detail": "doxxing a neighbour"},
                    "c1": {"code": "HARASSMENT_BULLYING"}, "c2": {"code": "SPAM"}}
    client.post("/v1/comments/c2/decision", headers=headers, json={"decision": "approve"})
    assert client.get("/v1/comments/c2", headers=headers).get_json()["rejection_reason"] is None


@pytest.mark.parametrize("reason, field", [
    ("NOPE", "reason.code"), ({"code": "OTHER"}, "reason.detail"), ({"code": "SPAM", "detail": "x" * 501},
                                                                     "reason.detail"),
    ({"detail": "no code"}, "reason"), (7, "reason"),
])
def test_a_bad_reason_is_a_422(app_factory, reason, field):
    _, client, headers = stocked(app_factory)
    response = client.post("/v1/comments/c0/decision", headers=headers, json={"decision": "reject", "reason": reason})
    assert response.status_code == 422 and response.get_json()["field"] == field
    approve = client.post("/v1/comments/c0/decision", headers=headers, json={"decision": "approve", "reason": "SPAM"})
    assert approve.status_code == 422 and approve.get_json()["field"] == "reason"


def test_the_deployment_chooses_its_codes(app_factory):
    _, client, headers = stocked(app_factory, REJECTION_REASONS="DOXXING, spam")
    assert client.post("/v1/comments/c0/decision", headers=headers,
                       json={"decision": "reject", "reason": "doxxing"}).status_code == 200
    assert client.post("/v1/comments/c1/decision", headers=headers,
                       json={"decision": "reject", "reason": "ABUSIVE"}).get_json()["field"] == "reason.code"
    rejected = client.post("/v1/comments/c1/decision", headers=headers, json={"decision": "reject"}).get_json()
    assert rejected["rejection_reason"] == {"code": "OTHER"}  # insult suggests none of these codes
    assert reasons.codes_from("DOXXING, spam") == ("DOXXING", "SPAM", "OTHER")


def test_an_automatic_rejection_has_the_suggested_code(app_factory):
    app, client, headers = stocked(app_factory, POLICY={"toxic": {"reject": 0.5}})
    comment = client.get("/v1/comments/c0", headers=headers).get_json()
    assert comment["status"] == "rejected" and comment["rejection_reason"] == {"code": "OFFENSIVE"}


def test_the_card_offers_the_codes_with_the_suggestion_chosen_and_records_the_moderators(app_factory):
    app, client, headers = stocked(app_factory, SECRET_KEY="test secret key")
    client.put("/v1/wordlists/spam", headers=headers, json={"entries": [{"text": "bridge", "reason": "AD"}]})
    client.post("/v1/moderate", headers=headers, json={"comment": {"id": "ad", "text": HELD}})
    users.create(app.extensions["moderation.store"], "mod", "correct horse battery")
    page = client.get("/review/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/review/login", data={"username": "mod", "password": "correct horse battery", "csrf_token": token})
    queue_page = client.get("/review/queue/review").get_data(as_text=True)
    cards = dict(re.findall(r'data-id="(\w+)".*?<option value="(\w+)" selected', queue_page, flags=re.S))
    assert cards == {"ad": "AD", "c0": "HARASSMENT_BULLYING", "c1": "HARASSMENT_BULLYING", "c2": "HARASSMENT_BULLYING"}
    with client.session_transaction("/review/") as session:
        token = session["csrf"]
    form = {"csrf_token": token, "version": "1", "decision": "reject", "reason": "OTHER", "reason_detail": ""}
    assert client.post("/review/comments/c0/decision", data=form).status_code == 422
    form["reason_detail"] = "threatens a named person"
    assert client.post("/review/comments/c0/decision", data=form).status_code == 302
    stored = client.get("/v1/comments/c0", headers=headers).get_json()
    assert stored["rejection_reason"] == {"code": "OTHER", "detail": "threatens a named person"}
    assert "threatens a named person" in client.get("/review/comments/c0").get_data(as_text=True)

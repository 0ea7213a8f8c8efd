"""The Coral external moderation phase: signatures, Coral's request, and answers Coral accepts."""
import copy
import hashlib
import hmac
import json

import pytest
from sqlalchemy import select

from moderation.service import keys
from moderation.store.models import ThreadEntry
from moderation.web.api.coral import plain_text, signature_valid

URL = "/v1/coral/moderate"
SECRET = "empsec_00112233445566778899aabbccddeeff"
SIGNATURE = "sha256=7e720b7d51719c6a173f863e2ae7fccbe544a670f4bac42f8908d096393ef0c5"
# PROTOCOLS.md section 4, verbatim; Coral sends it indented by two spaces.
EXAMPLE = {"action": "NEW", "comment": {"body": "<p>Nobody asked you, clown.</p>", "parentID": "c-7f1e"},
           "author": {"id": "u-51", "role": "COMMENTER"},
           "story": {"id": "s-9", "url": "https://news.example.org/2024/05/bridge"},
           "site": {"id": "site-1"}, "tenantID": "t-1", "tenantDomain": "comments.example.org"}
EXAMPLE_BODY = json.dumps(EXAMPLE, indent=2).encode("utf-8")
HELD = {"status": "SYSTEM_WITHHELD", "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}]}
# Texts of the tiny corpus (tests/conftest.py), which the tiny model scores clearly.
CLEAN = "The library staff are always kind to my kids."
TOXIC = "Shut up, you clueless idiot, nobody asked you."
OFF_TOPIC = "Best crypto signals, join my channel for free profits!"
GERMAN = "Das ist ein sehr schöner Tag heute, nicht wahr, mein Freund? Wir gehen spazieren."

CORAL_FIELDS = {"status", "actions", "tags", "moderationAction"}
CORAL_STATUSES = {"NONE", "APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"}
REJECTION_CODES = {"OFFENSIVE", "ABUSIVE", "SPAM", "BANNED_WORD", "AD", "ILLEGAL_CONTENT", "HARASSMENT_BULLYING",
                   "MISINFORMATION", "HATE_SPEECH", "IRRELEVANT_CONTENT", "OTHER"}


def key_for(app, *scopes):
    return keys.create(app.extensions["moderation.store"], "coral", scopes or ("score",))[0]


def coral_request(text, story="library", author="u-1", parent=None):
    request = copy.deepcopy(EXAMPLE)
    request["comment"] = {"body": f"<p>{text}</p>", "parentID": parent}
    request["author"]["id"] = author
    request["story"]["id"] = story
    return request


def post(client, key, body, signature=None, content_type="application/json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body, indent=2)
    headers = {"X-Coral-Signature": signature} if signature is not None else {}
    return client.post(f"{URL}?key={key}", data=data, content_type=content_type, headers=headers)


def assert_accepted_by_coral(answer):
    """The answer passes Coral's response validation without anything being stripped."""
    assert set(answer) <= CORAL_FIELDS
    assert answer["status"] in CORAL_STATUSES
    for action in answer.get("actions", []):
        assert set(action) == {"actionType", "reason"}
        assert action["actionType"] == "FLAG"
        assert action["reason"] in ("COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM")
    if "moderationAction" in answer:
        assert answer["moderationAction"]["rejectionReason"]["code"] in REJECTION_CODES


@pytest.fixture
def signed_app(app_factory):
    """Coral's signing secret configured, and thresholds low enough that the documented example is held."""
    return app_factory(CORAL_SIGNING_SECRETS=[SECRET], POLICY={"toxic": {"review": 0.5}})


def test_the_documented_signature_is_the_hmac_of_the_indented_body():
    assert len(EXAMPLE_BODY) == 361
    assert SIGNATURE == "sha256=" + hmac.new(SECRET.encode(), EXAMPLE_BODY, hashlib.sha256).hexdigest()


def test_documented_example_verifies_and_gets_the_documented_answer(signed_app):
    response = post(signed_app.test_client(), key_for(signed_app), EXAMPLE_BODY, SIGNATURE)
    assert response.status_code == 200
    assert response.get_json() == HELD


@pytest.mark.parametrize("body, signature", [
    (EXAMPLE_BODY.replace(b"clown", b"clowns"), SIGNATURE),
    (EXAMPLE_BODY.replace(b"\n  ", b"\n   ", 1), SIGNATURE),
    (json.dumps(EXAMPLE).encode(), SIGNATURE),  # same JSON, other bytes
    (EXAMPLE_BODY, SIGNATURE[:-1] + "4"),
    (EXAMPLE_BODY, SIGNATURE.replace("sha256", "sha1")),
    (EXAMPLE_BODY, SIGNATURE[len("sha256="):]),
    (EXAMPLE_BODY, ""),
    (EXAMPLE_BODY, "sha256=é"),
    (EXAMPLE_BODY, None),
])
def test_changed_bodies_and_signatures_are_refused(signed_app, body, signature):
    response = post(signed_app.test_client(), key_for(signed_app), body, signature)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "/problems/invalid-signature"


def test_any_matching_signature_of_several_is_enough(signed_app):
    header = "sha256=" + "0" * 64 + ", " + SIGNATURE
    assert post(signed_app.test_client(), key_for(signed_app), EXAMPLE_BODY, header).status_code == 200


def test_a_rotated_secret_still_verifies(app_factory):
    app = app_factory(CORAL_SIGNING_SECRETS=["empsec_ffffffffffffffffffffffffffffffff", SECRET])
    assert post(app.test_client(), key_for(app), EXAMPLE_BODY, SIGNATURE).status_code in (200, 204)


def test_signing_secrets_from_the_environment_are_a_comma_separated_list(app_factory):
    app = app_factory(CORAL_SIGNING_SECRETS=f"empsec_aa,{SECRET}")
    assert post(app.test_client(), key_for(app), EXAMPLE_BODY, SIGNATURE).status_code in (200, 204)
    assert post(app.test_client(), key_for(app), EXAMPLE_BODY, "sha256=00").status_code == 401


def test_signature_valid():
    assert signature_valid(SIGNATURE.upper().replace("SHA256", "sha256"), EXAMPLE_BODY, [SECRET])
    assert not signature_valid(SIGNATURE, EXAMPLE_BODY, [])
    assert not signature_valid("sha256=,=,,", EXAMPLE_BODY, [SECRET])


def test_without_secrets_no_signature_is_needed(app, client):
    assert post(client, key_for(app), coral_request(CLEAN)).status_code == 204


def test_the_key_comes_in_the_url_and_needs_the_score_scope(app, client):
    response = client.post(URL, json=coral_request(CLEAN))
    assert (response.status_code, response.mimetype) == (401, "application/problem+json")
    assert post(client, "mk_abcdef12_nope", coral_request(CLEAN)).status_code == 401
    assert post(client, key_for(app, "review"), coral_request(CLEAN)).status_code == 403


def test_a_clean_comment_gets_no_opinion(app, client):
    response = post(client, key_for(app), coral_request(CLEAN))
    assert response.status_code == 204
    assert response.data == b""


def test_a_toxic_comment_is_held_and_flagged(app, client):
    response = post(client, key_for(app), coral_request(TOXIC))
    assert response.status_code == 200
    assert response.get_json() == HELD


def test_rejections_carry_coral_rejection_reasons(app_factory):
    app = app_factory(POLICY={"toxic": {"reject": 0.5}, "insult": {"reject": 0.5}})
    answer = post(app.test_client(), key_for(app), coral_request(TOXIC)).get_json()
    assert answer == {"status": "REJECTED", "actions": HELD["actions"], "moderationAction": {
        "status": "REJECTED", "rejectionReason": {"code": "HARASSMENT_BULLYING"}}}
    assert_accepted_by_coral(answer)


def test_a_toxic_rejection_is_offensive(app_factory):
    app = app_factory(POLICY={"toxic": {"reject": 0.5}})
    answer = post(app.test_client(), key_for(app), coral_request(TOXIC)).get_json()
    assert answer["moderationAction"]["rejectionReason"] == {"code": "OFFENSIVE"}


def test_rejections_can_be_held_for_a_moderator_instead(app_factory):
    app = app_factory(POLICY={"toxic": {"reject": 0.5}}, CORAL_REJECT_STATUS="system_withheld")
    assert post(app.test_client(), key_for(app), coral_request(TOXIC)).get_json() == HELD


def test_an_unknown_reject_status_is_refused_at_start(app_factory):
    with pytest.raises(ValueError, match="CORAL_REJECT_STATUS"):
        app_factory(CORAL_REJECT_STATUS="DELETE")


def test_an_off_topic_hold_is_flagged_as_spam(app_factory):
    app = app_factory(POLICY={"off_topic": {"review": 0.5}})
    answer = post(app.test_client(), key_for(app), coral_request(OFF_TOPIC)).get_json()
    assert answer == {"status": "SYSTEM_WITHHELD",
                      "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}]}


def test_a_comment_in_a_language_the_model_lacks_is_held_without_a_flag(app, client):
    assert post(client, key_for(app), coral_request(GERMAN)).get_json() == {"status": "SYSTEM_WITHHELD"}


def test_the_story_is_the_article_and_the_comment_is_remembered_in_its_thread(app, client):
    key = key_for(app)
    article = {"title": "Library adds evening hours", "body": "The central library will stay open until nine."}
    assert client.put("/v1/articles/story-1", json=article, headers={"X-API-Key": key}).status_code == 201
    for author in ("u-1", "u-2"):
        assert post(client, key, coral_request(CLEAN, story="story-1", author=author)).status_code == 204
    app.extensions["moderation.threads"].flush()  # thread memory is written behind the answer
    with app.extensions["moderation.store"].session() as session:
        entries = session.scalars(select(ThreadEntry).order_by(ThreadEntry.id)).all()
        assert [(e.article_id, e.text) for e in entries] == [("story-1", CLEAN)] * 2
        assert entries[0].comment_id != entries[1].comment_id
        assert entries[0].comment_id.startswith("coral:")


def test_a_story_never_stored_is_counted_as_scored_without_its_article(app, client):
    from tests.test_metrics import scrape, value
    assert post(client, key_for(app), coral_request(CLEAN, story="never-put")).status_code == 204
    assert value(scrape(client), "moderation_comments_without_article_total", reason="unknown_article") == 1


def test_plain_text_bodies_are_moderated_as_they_are(app, client):
    body = coral_request(TOXIC)
    body["comment"]["body"] = TOXIC
    assert post(client, key_for(app), body).get_json() == HELD


@pytest.mark.parametrize("body, text", [
    ("<p>Tom &amp; Jerry</p><p>are&nbsp;back</p>", "Tom & Jerry\nare back"),
    ("Line one<br>line <b>two</b> &lt;3", "Line one\nline two <3"),
    ("I <3 this, a < b > c", "I <3 this, a < b > c"),
    ("  plain text  ", "plain text"),
    ("<blockquote><p>quoted</p></blockquote><p>reply</p>", "quoted\nreply"),
    ("<p></p>", ""),
])
def test_plain_text(body, text):
    assert plain_text(body) == text


def test_a_body_without_text_gets_no_opinion(app, client):
    body = coral_request("")
    body["comment"]["body"] = "<p><br></p>"
    assert post(client, key_for(app), body).status_code == 204


@pytest.mark.parametrize("data", [
    "{not json",
    "[]",
    json.dumps({"comment": {}}),
    json.dumps({"comment": {"body": None}}),
    json.dumps({"action": "NEW"}),
    json.dumps({**EXAMPLE, "comment": {"body": "x" * 20_001}}),
])
def test_bad_requests_are_problems(app, client, data):
    response = post(client, key_for(app), data)
    assert (response.status_code, response.mimetype) == (400, "application/problem+json")


def test_every_answer_is_one_coral_accepts(app_factory):
    app = app_factory(POLICY={"toxic": {"reject": 0.5}, "off_topic": {"review": 0.5}})
    client, key = app.test_client(), key_for(app)
    for text in (TOXIC, OFF_TOPIC, GERMAN, "Whoever runs the library is a pathetic idiot."):
        response = post(client, key, coral_request(text))
        assert response.status_code == 200
        assert_accepted_by_coral(response.get_json())


def test_a_rejecting_word_list_entry_gives_its_reason_code(app_factory):
    app = app_factory()
    admin = key_for(app, "admin")
    client = app.test_client()
    client.put("/v1/wordlists/spam", headers={"X-API-Key": admin}, json={"entries": [
        {"text": "crypto signals", "action": "reject", "reason": "SPAM"},
        {"text": "clueless", "action": "reject", "reason": "LOCAL_FEUD"}]})
    spam = post(client, admin, coral_request(OFF_TOPIC)).get_json()
    assert spam == {"status": "REJECTED", "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}],
                    "moderationAction": {"status": "REJECTED", "rejectionReason": {"code": "SPAM"}}}
    local = post(client, admin, coral_request(TOXIC)).get_json()
    assert local["moderationAction"]["rejectionReason"] == {"code": "BANNED_WORD"}  # not one of Coral's codes
    assert local["actions"] == HELD["actions"]
    for answer in (spam, local):
        assert_accepted_by_coral(answer)


def test_a_newcomer_held_by_the_author_rules_is_premoderated_and_counted(app_factory):
    app = app_factory(AUTHOR_POLICY={"hold_first": 1})
    key = key_for(app, "score", "review")
    answer = post(app.test_client(), key, coral_request(CLEAN, author="newcomer")).get_json()
    assert answer == {"status": "PREMOD"}
    assert_accepted_by_coral(answer)
    history = app.test_client().get("/v1/authors/newcomer", headers={"X-API-Key": key}).get_json()
    assert (history["scored"], history["held"], history["pending_total"]) == (1, 1, 0)  # Coral queues it itself

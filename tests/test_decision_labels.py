"""What a decision teaches the next model: the labels it implies, the labels a person set, and the rest unknown.

Each case is decided through the API and through the review UI's form as a browser submits it, exported with
``moderation review export`` and read back the way the trainer reads a file (blank = unknown = NaN).
"""
import math
from html.parser import HTMLParser

import pytest
from argon2 import PasswordHasher
from werkzeug.datastructures import MultiDict

from moderation.service import keys
from moderation.cli import main
from moderation.runtime.policy import unsupported_language
from moderation.review import queue, users
from moderation.review.export import labels_from_review, training_rows
from training.schema import LABELS, read_comments

PASSWORD = "correct horse battery"
POLICY = {"toxic": {"review": 0.5}, "insult": {"review": 0.5}}
JOKE = {"id": "joke", "text": "Stupid idea from stupid people, what a joke.", "article_id": "library"}
REJECTING = {"toxic": 0, "severe_toxic": 0, "insult": 0, "threat": 0, "identity_attack": 0}
UNKNOWN = dict.fromkeys(LABELS)
# name: (decision, the labels a person set (the API's `labels`, the card's yes/no), the row the trainer reads)
CASES = {
    "approve, labels untouched": ("approve", {}, {**UNKNOWN, **REJECTING}),
    "approve, keeping a label": ("approve", {"insult": 1}, {**UNKNOWN, **REJECTING, "insult": 1}),
    "approve, suggestions left as they are, off-topic set": (
        "approve", {"off_topic": 1}, {**UNKNOWN, **REJECTING, "off_topic": 1}),
    "reject, for the reasons it was held": ("reject", {}, {**UNKNOWN, "toxic": 1, "insult": 1}),
    "reject, with explicit labels": (
        "reject", {"off_topic": 1, "toxic": 0, "insult": 0}, {**UNKNOWN, "toxic": 0, "insult": 0, "off_topic": 1}),
    "explicit 0s": ("approve", {"off_topic": 0, "toxic": 0}, {**UNKNOWN, **REJECTING, "off_topic": 0}),
}


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def service(app_factory, tmp_path, monkeypatch):
    """The app with JOKE held for review (on toxic and insult, both flagged), a moderator, and keys."""
    database = f"sqlite:///{tmp_path / 'service.db'}"
    app = app_factory(DATABASE_URL=database, POLICY=POLICY, SECRET_KEY="k", LANGUAGE_DETECTION=False)
    monkeypatch.setenv("MODERATION_DATABASE_URL", database)  # for `moderation review export`
    store = app.extensions["moderation.store"]
    secret, _ = keys.create(store, "comment system", ["score", "review"])
    headers = {"X-API-Key": secret}
    result = app.test_client().post("/v1/moderate", headers=headers, json={"comments": [JOKE]}).get_json()
    joke = result["results"][0]
    assert joke["decision"] == "review" and {"toxic", "insult"} <= set(joke["flags"]), joke
    assert {r["label"] for r in joke["reasons"]} == {"toxic", "insult"}
    users.create(store, "alice", PASSWORD)
    return app, headers


class _DecisionForm(HTMLParser):
    """The fields a browser submits from a card's decision form as rendered: its inputs, radios only when checked."""

    def __init__(self):
        super().__init__()
        self.fields, self._inside = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._inside = "decision" in (attrs.get("class") or "").split()
        elif tag == "input" and self._inside and attrs.get("name"):
            if attrs.get("type") in ("radio", "checkbox") and "checked" not in attrs:
                return
            self.fields.append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False


def card_form(client, client_id: str) -> list[tuple[str, str]]:
    parser = _DecisionForm()
    parser.feed(client.get(f"/review/comments/{client_id}").get_data(as_text=True))
    return parser.fields


def log_in(client) -> None:
    client.get("/review/login")
    with client.session_transaction("/review/") as session:
        token = session["csrf"]
    assert client.post("/review/login", data={"username": "alice", "password": PASSWORD,
                                              "csrf_token": token}).status_code == 302


def decide_in_the_ui(app, decision: str, labels: dict):
    """Open the card, set ``labels`` yes or no and leave every other field as rendered, then press the button."""
    client = app.test_client()
    log_in(client)
    fields = [(name, value) for name, value in card_form(client, JOKE["id"])
              if name.removeprefix("label.") not in labels]
    fields += [(f"label.{label}", str(value)) for label, value in labels.items()] + [("decision", decision)]
    response = client.post(f"/review/comments/{JOKE['id']}/decision", data=MultiDict(fields))
    assert response.status_code == 302, response.get_data(as_text=True)


def decide_through_the_api(app, headers, decision: str, labels: dict):
    body = {"decision": decision, **({"labels": labels} if labels else {})}
    response = app.test_client().post(f"/v1/comments/{JOKE['id']}/decision", headers=headers, json=body)
    assert response.status_code == 200, response.get_json()


def rows_the_trainer_reads(tmp_path, capsys) -> dict[str, dict]:
    """`moderation review export`, read as `moderation train --data` reads it: label to 0, 1 or None (unknown)."""
    exported = tmp_path / "reviews.jsonl"
    with pytest.raises(SystemExit) as exit_info:
        main(["review", "export", "--out", str(exported)])
    assert exit_info.value.code == 0, capsys.readouterr().err
    frame = read_comments(exported)
    assert set(frame["source"]) <= {"reviews"}
    return {row["id"]: {label: None if math.isnan(row[label]) else int(row[label]) for label in LABELS}
            for row in frame.to_dict("records")}


@pytest.mark.parametrize("route", ["api", "ui"])
@pytest.mark.parametrize("case", list(CASES))
def test_a_decision_exports_what_it_implies_and_what_a_person_set(service, tmp_path, capsys, case, route):
    app, headers = service
    decision, labels, expected = CASES[case]
    if route == "api":
        decide_through_the_api(app, headers, decision, labels)
    else:
        decide_in_the_ui(app, decision, labels)
    comment, history = queue.get(app.extensions["moderation.store"], JOKE["id"])
    assert comment.labels == (labels or None) and history[-1].labels == (labels or None)
    assert rows_the_trainer_reads(tmp_path, capsys) == {JOKE["id"]: expected}


def test_a_card_shows_the_models_flags_as_suggestions_apart_from_labels_a_person_set(service):
    app, headers = service
    client = app.test_client()
    log_in(client)
    fields = dict(card_form(client, JOKE["id"]))
    assert {name: fields[name] for name in fields if name.startswith("label.")} == {
        "label.toxic": "", "label.insult": "", "label.off_topic": ""}  # nothing is set for the moderator
    html = client.get(f"/review/comments/{JOKE['id']}").get_data(as_text=True)
    assert html.count('class="choice suggested"') == 2 and 'data-label="off_topic"' in html

    decide_through_the_api(app, headers, "approve", {"insult": 1})
    fields = dict(card_form(client, JOKE["id"]))
    assert (fields["label.toxic"], fields["label.insult"], fields["label.off_topic"]) == ("", "1", "")


@pytest.mark.parametrize("value, field", [("maybe", "labels.toxic"), ("1", "labels.spam")])
def test_the_form_refuses_labels_that_are_not_yes_or_no_of_a_known_label(service, value, field):
    app, _ = service
    client = app.test_client()
    log_in(client)
    name = "label.spam" if field == "labels.spam" else "label.toxic"
    fields = [(n, v) for n, v in card_form(client, JOKE["id"]) if n != name] + [(name, value), ("decision", "approve")]
    response = client.post(f"/review/comments/{JOKE['id']}/decision", headers={"Accept": "application/json"},
                           data=MultiDict(fields))
    assert response.status_code == 422 and response.get_json()["field"] == field
    assert queue.get(app.extensions["moderation.store"], JOKE["id"])[1] == []


def test_a_decision_on_a_comment_held_for_its_language(service):
    """Held unscored, its reason names no label: an approval implies the rejecting labels, a rejection nothing."""
    app, headers = service
    store = app.extensions["moderation.store"]
    held = unsupported_language("de")
    result = {"scores": {}, "flags": held.flags, "decision": held.decision, "reasons": held.reasons, "spans": []}
    queue.save(store, [queue.ToStore(cid, "Der Stadtrat hat heute die neuen Radwege beschlossen.", None, None, None,
                                     result, "de", "v0") for cid in ("de-approved", "de-rejected", "de-labelled")])
    queue.decide(store, "de-approved", "approve", "user:alice")
    queue.decide(store, "de-rejected", "reject", "user:alice")
    queue.decide(store, "de-labelled", "reject", "user:alice", labels={"insult": 1})
    rows = {row["id"]: row for row in training_rows(store, include_feedback=False)}
    assert set(rows) == {"de-approved", "de-labelled"}  # the bare rejection says nothing about any label
    assert {label: rows["de-approved"][label] for label in LABELS} == {**UNKNOWN, **REJECTING}
    assert {label: rows["de-labelled"][label] for label in LABELS} == {**UNKNOWN, "insult": 1}


def test_labels_from_review_is_the_rule_the_readme_states():
    held = [{"label": "toxic", "score": 0.7, "threshold": 0.5, "action": "review"},
            {"label": "off_topic", "score": 0.8, "threshold": 0.6, "action": "review"}]
    assert labels_from_review("approved", held, None) == REJECTING
    assert labels_from_review("approved", held, {"toxic": 1, "profanity": 0}) == {**REJECTING, "toxic": 1,
                                                                                  "profanity": 0}
    assert labels_from_review("rejected", held, None) == {"toxic": 1, "off_topic": 1}
    assert labels_from_review("rejected", held, {"off_topic": 0}) == {"toxic": 1, "off_topic": 0}
    assert labels_from_review("rejected", unsupported_language("de").reasons, None) == {}
    assert labels_from_review("rejected", [], {"threat": 1}) == {"threat": 1}


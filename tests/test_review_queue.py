"""The review queue on SQLite and PostgreSQL: storing, idempotency, decisions, concurrency, history."""
import threading

import pytest

from moderation.review import queue
from moderation.service import keys


@pytest.fixture
def service(app_factory, database_url):
    app = app_factory(DATABASE_URL=database_url, STORE_COMMENTS="all")
    store = app.extensions["moderation.store"]
    score_key, _ = keys.create(store, "comment system", ["score"])
    review_key, _ = keys.create(store, "other tool", ["review"])
    return app, {"X-API-Key": score_key}, {"X-API-Key": review_key}


def moderate(client, headers, comments):
    response = client.post("/v1/moderate", json={"comments": comments}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def test_comments_are_stored_once_and_retries_are_answered_from_the_store(service):
    app, score, _ = service
    client = app.test_client()
    comment = {"id": "c-1", "text": "You clueless idiot, shut up.", "article_id": "a", "author_id": "u9"}
    first = moderate(client, score, [comment])[0]
    again = moderate(client, score, [comment, {"id": "c-2", "text": "Nice library"}])
    assert again[0] == first and first["stored"] is True  # the first answer again, field for field
    assert again[1]["stored"] is True  # this service keeps every comment (STORE_COMMENTS=all)
    store = app.extensions["moderation.store"]
    stored, history = queue.get(store, "c-1")
    assert stored.author_id == "u9" and stored.article_id == "a" and history == []
    assert sum(queue.counts(store).values()) == 2


def test_saved_comments_read_back_as_written_and_a_stored_id_is_skipped(database_url):
    """save() sends rows through the columns' own conversions on a raw connection: the ORM reads them back whole."""
    from datetime import datetime, timezone

    from moderation.store import Store

    store = Store(database_url)
    store.upgrade()
    result = {"scores": {"toxic": 0.91, "off_topic": 0.02}, "flags": ["toxic"], "decision": "review",
              "reasons": [{"label": "toxic", "threshold": 0.5}],
              "spans": [{"label": "toxic", "begin": 0, "end": 5, "text": "Idiöt", "score": 0.4}]}
    item = queue.ToStore("c-ü", "Idiöt \U0001F621 \"quoted\"", "a-1", None, "u-1", result, "en", "v1")
    queue.save(store, [item, queue.ToStore("c-2", "Fine.", None, "c-ü", None, result, None, "v1")])
    queue.save(store, [queue.ToStore("c-ü", "changed", "a-2", None, None, result, None, "v2")])  # already stored
    stored, history = queue.get(store, "c-ü")
    assert (stored.text, stored.article_id, stored.parent_id, stored.author_id) == ("Idiöt \U0001F621 \"quoted\"", "a-1",
                                                                                   None, "u-1")
    assert queue.stored_result(stored) == result and stored.labels is None and stored.decided_by is None
    assert (stored.status, stored.version, stored.model_version, stored.language) == ("pending", 1, "v1", "en")
    assert abs((stored.created_at - datetime.now(timezone.utc)).total_seconds()) < 60  # UTC, not shifted
    assert queue.get(store, "c-2")[0].parent_id == "c-ü" and history == []
    broken = queue.ToStore("c-4", None, None, None, None, result, None, "v1")  # text is NOT NULL
    with pytest.raises(Exception, match="(?i)null"):
        queue.save(store, [queue.ToStore("c-3", "First of a failing batch.", None, None, None, result, None, "v1"),
                           broken])
    assert queue.existing(store, ["c-3", "c-4"]) == {}  # all or nothing
    store.dispose()


def test_only_held_comments_are_stored_by_default(app_factory, database_url):
    app = app_factory(DATABASE_URL=database_url, POLICY={"toxic": {"review": 0.0}})
    store = app.extensions["moderation.store"]
    secret, _ = keys.create(store, "k", ["score"])
    client = app.test_client()
    moderate(client, {"X-API-Key": secret}, [{"id": "held", "text": "Whatever, you idiot."}])
    app_strict = app_factory(DATABASE_URL=database_url, POLICY={"toxic": {"review": 1.0, "reject": 1.0, "flag": 1.0},
                                                                "insult": {"review": 1.0, "reject": 1.0, "flag": 1.0},
                                                                "off_topic": {"review": 1.0, "flag": 1.0}})
    moderate(app_strict.test_client(), {"X-API-Key": secret}, [{"id": "fine", "text": "Lovely bridge."}])
    assert queue.existing(store, ["held", "fine"]).keys() == {"held"}


def test_status_and_history_through_the_api(service):
    app, score, review = service
    client = app.test_client()
    moderate(client, score, [{"id": "c-7", "text": "Shut up, you clueless idiot."}])
    status = client.get("/v1/comments/c-7", headers=score).get_json()
    assert status["id"] == "c-7" and status["version"] == 1 and status["history"] == []
    decided = client.post("/v1/comments/c-7/decision", headers=review,
                          json={"decision": "approve", "labels": {"toxic": 0, "off_topic": 1}, "note": "banter"})
    assert decided.status_code == 200
    body = decided.get_json()
    assert body["status"] == "approved" and body["labels"] == {"toxic": 0, "off_topic": 1}
    assert body["decided_by"].startswith("key:") and body["version"] == 2
    assert [(h["decision"], h["outcome"], h["note"]) for h in body["history"]] == [("approve", "applied", "banter")]


@pytest.mark.parametrize("body, status, field", [
    ({"decision": "maybe"}, 422, "decision"),
    ({"decision": "approve", "labels": {"sarcasm": 1}}, 422, "labels.sarcasm"),
    ({"decision": "approve", "labels": {"toxic": 2}}, 422, "labels.toxic"),
    ({"decision": "approve", "labels": [1]}, 422, "labels"),
    ({"decision": "approve", "version": "1"}, 422, "version"),
    ({"decision": "approve", "note": 5}, 422, "note"),
])
def test_bad_decisions(service, body, status, field):
    app, score, review = service
    client = app.test_client()
    moderate(client, score, [{"id": "d", "text": "You idiot."}])
    response = client.post("/v1/comments/d/decision", headers=review, json=body)
    assert response.status_code == status and response.get_json()["field"] == field


def test_decision_errors_scope_and_missing_comment(service):
    app, score, review = service
    client = app.test_client()
    assert client.post("/v1/comments/nope/decision", headers=review, json={"decision": "reject"}).status_code == 404
    assert client.get("/v1/comments/nope", headers=score).status_code == 404
    moderate(client, score, [{"id": "s", "text": "You idiot."}])
    assert client.post("/v1/comments/s/decision", headers=score, json={"decision": "reject"}).status_code == 403


def test_stale_version_is_a_conflict_recorded_in_history(service):
    app, score, review = service
    client = app.test_client()
    moderate(client, score, [{"id": "v", "text": "You idiot."}])
    assert client.post("/v1/comments/v/decision", headers=review, json={"decision": "reject", "version": 1}).status_code == 200
    late = client.post("/v1/comments/v/decision", headers=review, json={"decision": "approve", "version": 1})
    assert late.status_code == 409 and late.get_json()["current_status"] == "rejected"
    history = client.get("/v1/comments/v", headers=score).get_json()["history"]
    assert [(h["decision"], h["outcome"]) for h in history] == [("reject", "applied"), ("approve", "conflict")]


def test_concurrent_decisions_resolve_to_exactly_one(service):
    app, score, _ = service
    moderate(app.test_client(), score, [{"id": "race", "text": "You idiot."}])
    store = app.extensions["moderation.store"]
    barrier = threading.Barrier(6)
    outcomes = []

    def attempt(i):
        barrier.wait()
        try:
            queue.decide(store, "race", "approve" if i % 2 else "reject", f"user:m{i}", expected_version=1)
            outcomes.append("applied")
        except queue.Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["applied"] + ["conflict"] * 5
    comment, history = queue.get(store, "race")
    assert comment.version == 2 and len(history) == 6
    assert sum(h.outcome == "applied" for h in history) == 1


def test_queues_filters_and_sorting(service):
    app, score, _ = service
    client = app.test_client()
    moderate(client, score, [{"id": f"q{i}", "text": t, "article_id": "a" if i < 2 else "b"} for i, t in enumerate(
        ["You pathetic idiot.", "Stupid idea from stupid people.", "Clueless idiot, shut up.", "Nice bridge."])])
    store = app.extensions["moderation.store"]
    everything = [c.client_id for q in queue.QUEUES for c in queue.listing(store, queue.QueueQuery(queue=q))[0]]
    assert sorted(everything) == ["q0", "q1", "q2", "q3"]
    rows, total = queue.listing(store, queue.QueueQuery(queue="approved", limit=10))
    by_article = [c for q in queue.QUEUES for c in queue.listing(store, queue.QueueQuery(queue=q, article_id="b"))[0]]
    assert {c.client_id for c in by_article} == {"q2", "q3"}
    for name in queue.QUEUES:
        rows, total = queue.listing(store, queue.QueueQuery(queue=name, sort="score"))
        scores = [r.scores["toxic"] for r in rows]
        assert scores == sorted(scores, reverse=True) and total == len(rows)
    with pytest.raises(queue.ReviewError, match="unknown queue"):
        queue.listing(store, queue.QueueQuery(queue="spam"))


def test_label_filter_and_score_range(service):
    app, score, _ = service
    client = app.test_client()
    results = moderate(client, score, [{"id": "x1", "text": "You pathetic idiot."}, {"id": "x2", "text": "Nice bridge."}])
    store = app.extensions["moderation.store"]
    flagged = {r["id"] for r in results if "toxic" in r["flags"]}
    found = {c.client_id for q in queue.QUEUES for c in queue.listing(store, queue.QueueQuery(queue=q, label="toxic"))[0]}
    assert found == flagged
    low = results[1]["scores"]["toxic"]
    selected = {cid for q in queue.QUEUES for cid, _ in queue.matching_ids(
        store, queue.QueueQuery(queue=q, sort_label="toxic", max_score=low + 1e-6))}
    assert selected == {"x2"}

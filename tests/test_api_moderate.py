"""POST /v1/moderate and the article endpoints: success paths, limits and every kind of bad input."""
import json

import pytest

PROBLEM = "application/problem+json"


def post(client, auth, body, **kwargs):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    headers = {"Content-Type": "application/json", **auth, **kwargs.pop("headers", {})}
    return client.post("/v1/moderate", data=data, headers=headers, **kwargs)


def test_batch_gets_scores_flags_decision_reasons_and_spans(client, auth, app):
    response = post(client, auth, {"comments": [
        {"id": "c1", "text": "Shut up, you clueless idiot, nobody asked you."},
        {"id": 2, "text": "Evening hours will help students who work after school."},
    ]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["model_version"] == app.extensions["moderation.model"].scorer.version
    first, second = body["results"]
    assert [first["id"], second["id"]] == ["c1", 2]
    assert set(first["scores"]) == {"toxic", "insult", "off_topic"}
    assert first["scores"]["toxic"] > second["scores"]["toxic"]
    assert first["decision"] in ("review", "reject") and "toxic" in first["flags"]
    assert {r["label"] for r in first["reasons"]} & {"toxic", "insult"}
    assert all(set(r) >= {"label", "score", "threshold", "action"} for r in first["reasons"])
    spans = [s for s in first["spans"] if s["label"] == "toxic"]
    text = "Shut up, you clueless idiot, nobody asked you."
    assert spans and all(text[s["begin"]:s["end"]] == s["text"] for s in spans)
    assert any("idiot" in s["text"] for s in spans)


def test_single_comment_form_and_explain_off(client, auth):
    body = post(client, auth, {"comment": {"id": "x", "text": "You clueless idiot."}, "explain": False}).get_json()
    assert len(body["results"]) == 1 and body["results"][0]["spans"] == []


def test_article_and_thread_context_change_off_topic(client, auth):
    article = {"title": "Old bridge reopens after repairs",
               "body": "The river bridge on Mill Road reopens Monday after repairs to its steel deck."}
    assert client.put("/v1/articles/bridge", json=article, headers=auth).status_code == 201
    on = "The Mill Road bridge deck repairs took far too long."
    off = "Best crypto signals, join my channel for free profits today!"
    body = post(client, auth, {"comments": [{"id": "1", "text": on, "article_id": "bridge"},
                                            {"id": "2", "text": off, "article_id": "bridge"}]}).get_json()
    on_score, off_score = (r["scores"]["off_topic"] for r in body["results"])
    assert off_score > on_score
    # The service remembered both comments as the article's thread (written behind the answer).
    from moderation.service import threads
    client.application.extensions["moderation.threads"].flush()
    remembered = threads.recent(client.application.extensions["moderation.store"], "bridge", 10)
    assert [c for c, _ in remembered] == ["1", "2"]


def test_article_sent_inline_is_used_without_storing_it(client, auth):
    body = post(client, auth, {"article": {"id": "inline", "title": "Library adds evening hours",
                                           "body": "The central library stays open until nine."},
                               "comment": {"id": "q", "text": "Great, evening library hours help me study."}})
    assert body.status_code == 200
    assert client.get("/v1/articles/inline", headers=auth).status_code == 404


def test_article_policy_makes_decisions_stricter(client, auth):
    client.put("/v1/articles/strict", headers=auth, json={
        "title": "Library", "body": "Library hours.", "policy": {"toxic": {"review": 0.0}}})
    body = post(client, auth, {"comment": {"id": "s", "text": "Lovely library staff.", "article_id": "strict"}})
    result = body.get_json()["results"][0]
    assert result["decision"] == "review"
    assert any(r["label"] == "toxic" and r["threshold"] == 0.0 for r in result["reasons"])


def test_deployment_policy_from_config(app_factory, make_key):
    app = app_factory(POLICY={"off_topic": {"review": 1.0, "flag": 1.0}, "toxic": {"review": 1.0, "reject": 1.0,
                                                                                  "flag": 1.0},
                              "insult": {"review": 1.0, "reject": 1.0, "flag": 1.0}})
    from moderation.service import keys
    secret, _ = keys.create(app.extensions["moderation.store"], "k", ["score"])
    result = post(app.test_client(), {"Authorization": f"Bearer {secret}"},
                  {"comment": {"id": 1, "text": "You pathetic idiot"}}).get_json()["results"][0]
    assert result["decision"] == "approve" and result["flags"] == []


def test_other_languages_are_held_not_scored(client, auth):
    result = post(client, auth, {"comment": {"id": "de", "text": "Der Stadtrat hat heute die neuen Radwege "
                                                                 "beschlossen, was ich sehr gut finde."}}).get_json()
    result = result["results"][0]
    assert result["decision"] == "review" and result["flags"] == ["unsupported_language"]
    assert result["scores"] == {} and result["language"] == "de"


@pytest.mark.parametrize("body, field, status", [
    ({}, "comments", 422),
    ({"comments": []}, "comments", 422),
    ({"comments": [{"id": 1}]}, "comments.0.text", 422),
    ({"comments": [{"text": "hi"}]}, "comments.0.id", 422),
    ({"comments": [{"id": 1, "text": 5}]}, "comments.0.text", 422),
    ({"comments": [{"id": 1, "text": "   "}]}, "comments.0.text", 422),
    ({"comments": [{"id": 1, "text": "nul \u0000 byte"}]}, "comments.0.text", 422),
    ({"comments": [{"id": 1, "text": "bell \u0007"}]}, "comments.0.text", 422),
    ({"comments": [{"id": 1, "text": "lone \ud800 surrogate"}]}, "comments.0.text", 422),
    ({"comments": [{"id": [1], "text": "x"}]}, "comments.0.id", 422),
    ({"comments": {"id": 1, "text": "x"}}, "comments", 422),
    ({"comments": [{"id": 1, "text": "a"}, {"id": 1, "text": "b"}]}, "comments.1.id", 422),
    ({"comments": [{"id": 1, "text": "a"}], "comment": {"id": 2, "text": "b"}}, "comment", 422),
    ([1, 2], "", 422),
])
def test_bad_bodies_get_problem_json_naming_the_field(client, auth, body, field, status):
    response = post(client, auth, body)
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert set(problem) >= {"type", "title", "status", "detail"}
    assert problem["status"] == status and problem.get("field") == field


def test_limits_on_batch_size_and_text_length(app_factory):
    app = app_factory(MAX_BATCH=3, MAX_TEXT_CHARS=50)
    from moderation.service import keys
    secret, _ = keys.create(app.extensions["moderation.store"], "k", ["score"])
    auth = {"Authorization": f"Bearer {secret}"}
    client = app.test_client()
    many = post(client, auth, {"comments": [{"id": i, "text": "fine"} for i in range(4)]})
    assert many.status_code == 422 and "limit is 3" in many.get_json()["detail"]
    long = post(client, auth, {"comment": {"id": 1, "text": "x" * 51}})
    assert long.status_code == 422 and long.get_json()["field"] == "comments.0.text"


def test_invalid_json_non_utf8_wrong_type_and_huge_bodies(client, auth, app):
    for data, status, title in [(b"{", 400, "Invalid JSON"), (b'{"comment": {"id": 1, "text": "caf\xe9"}}', 400,
                                                              "Invalid encoding"),
                                (b"[" * 100_000 + b"]" * 100_000, 400, None)]:
        response = post(client, auth, data)
        assert response.status_code in (status, 413) and response.mimetype == PROBLEM
        if title:
            assert response.get_json()["title"] == title
    wrong_type = client.post("/v1/moderate", data="text=hi", headers={**auth, "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415 and wrong_type.mimetype == PROBLEM
    huge = post(client, auth, b'{"comment": {"id": 1, "text": "' + b"a" * (app.config["MAX_CONTENT_LENGTH"] + 10) + b'"}}')
    assert huge.status_code == 413 and huge.mimetype == PROBLEM


def test_huge_unicode_text_within_limits_is_scored(client, auth):
    text = "👍🏽 " * 2000 + "Z̷̢a̵l̶g̸o̵ " * 300 + "\u202eevil override"
    response = post(client, auth, {"comment": {"id": "u", "text": text}})
    assert response.status_code == 200


def test_unknown_routes_and_methods_are_problem_json(client, auth):
    assert client.get("/v1/nothing", headers=auth).mimetype == PROBLEM
    response = client.get("/v1/moderate", headers=auth)
    assert response.status_code == 405 and response.mimetype == PROBLEM and "POST" in response.headers["Allow"]


def test_put_article_validation(client, auth):
    assert client.put("/v1/articles/a", headers=auth, json={"title": 3}).status_code == 422
    assert client.put("/v1/articles/a", headers=auth, json={"id": "b", "title": "x"}).status_code == 422
    bad_policy = client.put("/v1/articles/a", headers=auth, json={"title": "x", "policy": {"sarcasm": {"review": 1}}})
    assert bad_policy.status_code == 422 and bad_policy.get_json()["field"] == "policy"
    null_flag = client.put("/v1/articles/a", headers=auth, json={"title": "x", "policy": {"toxic": {"flag": None}}})
    assert null_flag.status_code == 422 and null_flag.get_json()["field"] == "policy"  # was stored, then every comment 500
    assert client.put("/v1/articles/a", headers=auth, json={"title": "T", "body": "B", "url": "https://x"}).status_code == 201
    replaced = client.put("/v1/articles/a", headers=auth, json={"title": "T2"})
    assert replaced.status_code == 200
    article = client.get("/v1/articles/a", headers=auth).get_json()
    assert (article["title"], article["body"], article["url"]) == ("T2", "", None)


def test_health_endpoints_need_no_key(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["database"] is True


def test_readyz_fails_without_a_model(app_factory, tmp_path):
    app = app_factory(MODELS_DIR=str(tmp_path / "empty"))
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["model_version"] is None


@pytest.mark.parametrize("policy", [{"toxic": {"review": 2.0}}, {"sarcasm": {"review": 0.1}}, {"toxic": {"block": 1}},
                                    {"toxic": {"flag": None}}])
def test_bad_inline_article_policy_is_422(client, auth, policy):
    response = post(client, auth, {"comment": {"id": "a", "text": "hi"}, "article": {"policy": policy}})
    assert response.status_code == 422 and response.get_json()["field"] == "article.policy"


def test_stored_policy_naming_labels_the_model_lacks_is_skipped_not_fatal(client, auth, app):
    from moderation.store.models import Article
    with app.extensions["moderation.store"].session() as session:  # as if stored for an older model
        session.add(Article(id="old", title="Old", body="", policy={"threat": {"review": 0.0},
                                                                    "toxic": {"review": 0.0}}))
    result = post(client, auth, {"comment": {"id": "p", "text": "Lovely library.", "article_id": "old"}})
    assert result.status_code == 200
    assert result.get_json()["results"][0]["decision"] == "review"  # the toxic override still applies


HELD = "Whoever runs the library is a pathetic idiot, shut up."
APPROVED = "Evening hours will help students who work after school."
GERMAN = "Der Stadtrat hat heute die neuen Radwege beschlossen, was ich sehr gut finde."


def _without_article_metric(client, reason):
    from tests.test_metrics import scrape, value
    return value(scrape(client), "moderation_comments_without_article_total", reason=reason)


def test_unknown_article_id_is_scored_without_context_and_says_so(client, auth):
    client.put("/v1/articles/bridge", headers=auth, json={"title": "Old bridge reopens", "body": "Mill Road."})
    client.put("/v1/articles/bare", headers=auth, json={"policy": {"toxic": {"review": 0.9}}})
    body = post(client, auth, {"comments": [{"id": "k", "text": APPROVED, "article_id": "bridge"},
                                            {"id": "u", "text": APPROVED, "article_id": "nowhere"},
                                            {"id": 7, "text": APPROVED, "article_id": 404},
                                            {"id": "e", "text": APPROVED, "article_id": "bare"},
                                            {"id": "n", "text": APPROVED}]}).get_json()
    assert [r["warnings"] for r in body["results"]] == [
        [], ["unknown article_id 'nowhere': scored without article context"],
        ["unknown article_id '404': scored without article context"],
        ["article_id 'bare' has no title or body: scored without article context"], []]
    assert _without_article_metric(client, "unknown_article") == 2
    assert _without_article_metric(client, "empty_article") == 1


def test_unreadable_article_store_is_a_warning_too(client, auth, app, monkeypatch):
    from moderation.store import StoreUnavailable

    def unreachable(article_ids):
        raise StoreUnavailable("connection refused")
    monkeypatch.setattr(app.extensions["moderation.articles"], "get_many", unreachable)
    result = post(client, auth, {"comment": {"id": "s", "text": APPROVED, "article_id": "bridge"}}).get_json()
    assert result["results"][0]["warnings"] == [
        "article_id 'bridge': the article store is unreachable: scored without article context"]
    assert _without_article_metric(client, "store_unavailable") == 1


def test_a_retried_request_gets_exactly_the_first_answer(client, auth):
    request = {"comments": [{"id": "h", "text": HELD, "article_id": "nowhere"}, {"id": 2, "text": APPROVED},
                            {"id": "de", "text": GERMAN}]}
    first = post(client, auth, request).get_json()
    assert [r["decision"] for r in first["results"]] != ["approve"] * 3
    assert [r["stored"] for r in first["results"]] == [r["decision"] != "approve" for r in first["results"]]
    again = post(client, auth, request).get_json()
    assert again == first
    for result in again["results"]:
        assert set(result) >= {"id", "scores", "flags", "decision", "reasons", "spans", "warnings", "stored",
                               "model_version"}
    assert _without_article_metric(client, "unknown_article") == 1  # the replay was not scored again


def test_a_comment_id_reused_with_other_text_is_a_409_naming_it(client, auth):
    first = post(client, auth, {"comment": {"id": "c-9", "text": HELD}}).get_json()["results"][0]
    assert client.get("/v1/comments/c-9", headers=auth).status_code == 200  # held, so stored
    response = post(client, auth, {"comments": [{"id": "new", "text": HELD},
                                                {"id": "c-9", "text": HELD + " Edited."}]})
    assert response.status_code == 409 and response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["field"] == "comments.1.id" and problem["comment_id"] == "c-9" and "'c-9'" in problem["detail"]
    assert client.get("/v1/comments/new", headers=auth).status_code == 404  # nothing of that request was kept
    assert post(client, auth, {"comment": {"id": "c-9", "text": HELD}}).get_json()["results"][0] == first


def test_a_comment_id_whose_stored_text_was_purged_is_a_409_too(client, auth, app):
    from moderation.review.retention import purge
    assert post(client, auth, {"comment": {"id": "old", "text": HELD}}).status_code == 200
    decided = client.post("/v1/comments/old/decision", headers=auth, json={"decision": "reject"})
    assert decided.status_code == 200
    assert purge(app.extensions["moderation.store"], 0, keep_labels=True).comments_anonymised == 1
    response = post(client, auth, {"comment": {"id": "old", "text": HELD}})
    assert response.status_code == 409 and "purged" in response.get_json()["detail"]


def test_a_model_whose_labels_do_not_decide_holds_nothing_and_takes_only_flag_overrides(app_factory,
                                                                                       undecided_registry):
    from moderation.service import keys
    from moderation.store.models import Article

    app = app_factory(MODELS_DIR=str(undecided_registry.root))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {keys.create(app.extensions['moderation.store'], 'k', ('score',))[0]}"}
    text = "Shut up, you clueless idiot, nobody asked you."
    result = post(client, auth, {"comment": {"id": "q", "text": text}}).get_json()["results"][0]
    assert (result["decision"], result["reasons"]) == ("approve", [])
    assert ("toxic" in result["flags"]) == (result["scores"]["toxic"] >= 0.5)  # flagged at 0.5, for information
    refused = client.put("/v1/articles/a", headers=auth, json={"title": "A", "policy": {"toxic": {"review": 0.1}}})
    assert refused.status_code == 422 and "'toxic' does not decide" in refused.get_json()["detail"]
    inline = post(client, auth, {"comment": {"id": "r", "text": text}, "article": {"policy": {"toxic": {"reject": 0}}}})
    assert inline.status_code == 422
    flag_only = client.put("/v1/articles/a", headers=auth, json={"title": "A", "policy": {"toxic": {"flag": 0.0}}})
    assert flag_only.status_code == 201
    flagged = post(client, auth, {"comment": {"id": "s", "text": text, "article_id": "a"}}).get_json()["results"][0]
    assert flagged["decision"] == "approve" and "toxic" in flagged["flags"]
    with app.extensions["moderation.store"].session() as session:  # as if stored when toxic decided
        session.add(Article(id="old", title="Old", body="", policy={"toxic": {"review": 0.0, "flag": 1.0}}))
    kept = post(client, auth, {"comment": {"id": "t", "text": text, "article_id": "old"}}).get_json()["results"][0]
    assert kept["decision"] == "approve" and "toxic" not in kept["flags"]  # its flag override still applies

"""The Perspective-compatible endpoints, driven with Perspective's and Coral's own requests."""
import json

import pytest
from sqlalchemy import func, select

from moderation.model.comment import Comment
from moderation.service import keys
from moderation.store import Store
from moderation.store.models import Feedback, ThreadEntry
from moderation.web.api.perspective import sentences

ANALYZE = "/v1alpha1/comments:analyze"
SUGGEST = "/v1alpha1/comments:suggestscore"
ERROR_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
GERMAN = "Das ist ein sehr schöner Tag heute, nicht wahr, mein Freund?"

# PROTOCOLS.md section 1, verbatim.
DOCUMENTED_ANALYZE = {
    "comment": {"text": "You are a clown. Thanks for reading.", "type": "PLAIN_TEXT"},
    "context": {"entries": [{"text": "Bridge reopens Monday", "type": "PLAIN_TEXT"}]},
    "requestedAttributes": {"TOXICITY": {}, "INSULT": {"scoreType": "PROBABILITY", "scoreThreshold": 0.5}},
    "spanAnnotations": True, "languages": ["en"], "doNotStore": True,
    "clientToken": "req-42", "sessionId": "s-9", "communityId": "news-site"}
# What Coral sends with its default settings (PROTOCOLS.md section 3).
CORAL_ANALYZE = {"comment": {"text": "Shut up, you clueless idiot, nobody asked you."}, "doNotStore": True,
                 "requestedAttributes": {"TOXICITY": {}}, "languages": ["en"]}
CORAL_CONTEXT = ('{"url":"https://news.example.org/2024/05/bridge?commentID=c-2",'
                 '"reply_to_id_Coral_comment_id":"c-1","Coral_comment_id":"c-2"}')
CORAL_FEEDBACK = {"comment": {"text": "Shut up, you clueless idiot, nobody asked you."},
                  "context": {"entries": [{"text": CORAL_CONTEXT}]},
                  "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}},
                  "languages": ["en"], "communityId": "Coral:https://comments.example.org/",
                  "clientToken": "comment:c-2"}


@pytest.fixture
def key(make_key):
    return make_key("score")


def key_for(app, *scopes):
    return keys.create(app.extensions["moderation.store"], "test", scopes or ("score",))[0]


def analyze(client, key, body, path=ANALYZE):
    return client.post(f"{path}?key={key}", json=body)


def request_for(text, *attributes, **fields):
    return {"comment": {"text": text}, "requestedAttributes": {a: {} for a in attributes or ("TOXICITY",)},
            **fields}


def model_scores(app, text, article=None, parent=None):
    """The served model's own scores of one comment, to compare the endpoint's numbers with."""
    scorer = app.extensions["moderation.model"].scorer
    row = scorer.predict([Comment(text, article, (), parent)])[0]
    return {label: round(float(p), 4) for label, p in zip(scorer.labels, row)}


def assert_google_error(response, code, status, message, error_type=None):
    assert response.status_code == code
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert (error["code"], error["status"], error["message"]) == (code, status, message)
    if error_type is None:
        assert "details" not in error
    else:
        assert error["details"][0]["@type"] == ERROR_TYPE
        assert error["details"][0]["errorType"] == error_type
    return error


def row_count(app, model):
    with app.extensions["moderation.store"].session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_documented_example_request(app, client, key):
    response = analyze(client, key, DOCUMENTED_ANALYZE)
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["attributeScores", "languages", "detectedLanguages", "clientToken"]
    text = DOCUMENTED_ANALYZE["comment"]["text"]
    expected = model_scores(app, text, article="Bridge reopens Monday")
    assert expected["insult"] < 0.5  # so INSULT is left out, as in the documented answer
    assert body["attributeScores"] == {"TOXICITY": {
        "summaryScore": {"value": expected["toxic"], "type": "PROBABILITY"},
        "spanScores": [
            {"begin": 0, "end": 16, "score": {"value": model_scores(
                app, "You are a clown.", article="Bridge reopens Monday")["toxic"], "type": "PROBABILITY"}},
            {"begin": 17, "end": 36, "score": {"value": model_scores(
                app, "Thanks for reading.", article="Bridge reopens Monday")["toxic"], "type": "PROBABILITY"}}]}}
    assert (body["languages"], body["detectedLanguages"], body["clientToken"]) == (["en"], ["en"], "req-42")


def test_coral_request_on_the_bare_path(app, client, key):
    response = analyze(client, key, CORAL_ANALYZE, path="/comments:analyze")
    assert response.status_code == 200
    assert response.get_json() == {
        "attributeScores": {"TOXICITY": {"summaryScore": {
            "value": model_scores(app, CORAL_ANALYZE["comment"]["text"])["toxic"], "type": "PROBABILITY"}}},
        "languages": ["en"], "detectedLanguages": ["en"]}


@pytest.mark.parametrize("path", ["/v1alpha1/comments%3Aanalyze", "/comments%3Aanalyze"])
def test_an_escaped_colon_reaches_the_same_endpoint(client, key, path):
    assert analyze(client, key, CORAL_ANALYZE, path=path).status_code == 200


def test_analyze_stores_nothing(app, client, key):
    assert analyze(client, key, {**CORAL_ANALYZE, "doNotStore": False}).status_code == 200
    assert row_count(app, Feedback) == row_count(app, ThreadEntry) == 0


def test_all_attributes_are_scored_with_the_context_as_article(app, client, key):
    text = "Buy cheap sunglasses at my online shop, discount code inside!"
    article = "Old bridge reopens after repairs\nThe deck was repaired."
    response = analyze(client, key, request_for(text, "TOXICITY", "INSULT", "OFF_TOPIC", languages=["en"], context={
        "entries": [{"text": "Old bridge reopens after repairs"}, {"text": "The deck was repaired."}]}))
    expected = model_scores(app, text, article=article)
    assert {name: s["summaryScore"]["value"] for name, s in response.get_json()["attributeScores"].items()} == {
        "TOXICITY": expected["toxic"], "INSULT": expected["insult"], "OFF_TOPIC": expected["off_topic"]}


def test_article_and_parent_comment_are_the_article_and_parent(app, client, key):
    text = "The engineers who fixed the steel deck did careful work."
    context = {"articleAndParentComment": {"article": {"text": "Library adds evening hours"},
                                           "parentComment": {"text": "Laptops for students, finally."}}}
    response = analyze(client, key, request_for(text, "OFF_TOPIC", languages=["en"], context=context))
    expected = model_scores(app, text, article="Library adds evening hours", parent="Laptops for students, finally.")
    assert response.get_json()["attributeScores"]["OFF_TOPIC"]["summaryScore"]["value"] == expected["off_topic"]


def test_thresholds_leave_attributes_out_and_attribute_scores_absent_when_all_are(client, key):
    text = "Shut up, you clueless idiot, nobody asked you."
    body = request_for(text, languages=["en"], requestedAttributes={
        "TOXICITY": {"scoreThreshold": 0}, "INSULT": {"scoreThreshold": 1.0}})
    assert list(analyze(client, key, body).get_json()["attributeScores"]) == ["TOXICITY"]
    body["requestedAttributes"]["TOXICITY"]["scoreThreshold"] = 1.0
    assert analyze(client, key, body).get_json() == {"languages": ["en"], "detectedLanguages": ["en"]}


def test_span_offsets_count_utf16_code_units(app, client, key):
    text = "You idiot \U0001F921. Thanks for reading."  # the clown face is two UTF-16 code units
    body = analyze(client, key, request_for(text, "TOXICITY", "INSULT", spanAnnotations=True)).get_json()
    spans = body["attributeScores"]["INSULT"]["spanScores"]
    assert [(s["begin"], s["end"]) for s in spans] == [(0, 13), (14, 33)]
    encoded = text.encode("utf-16-le")
    assert encoded[28:66].decode("utf-16-le") == "Thanks for reading."
    assert spans[1]["score"]["value"] == model_scores(app, "Thanks for reading.")["insult"]


@pytest.mark.parametrize("text, expected", [
    ("What kind of idiot name is foo? Sorry, I like your name.", ["What kind of idiot name is foo?",
                                                                 "Sorry, I like your name."]),
    ("He said \"go away!\" Then left...  Odd", ["He said \"go away!\"", "Then left...", "Odd"]),
    ("First line\nsecond line without a stop", ["First line", "second line without a stop"]),
    ("Pi is 3.14 exactly.", ["Pi is 3.14 exactly."]),
])
def test_sentences(text, expected):
    assert [text[b:e] for b, e in sentences(text)] == expected


def test_client_token_is_echoed_only_when_sent(client, key):
    assert analyze(client, key, {**CORAL_ANALYZE, "clientToken": "t-1"}).get_json()["clientToken"] == "t-1"
    assert "clientToken" not in analyze(client, key, CORAL_ANALYZE).get_json()


def test_languages_are_detected_when_omitted(client, key):
    body = analyze(client, key, request_for("Thanks, the library staff were very kind to all of us.")).get_json()
    assert (body["languages"], body["detectedLanguages"]) == (["en"], ["en"])


def test_a_regional_language_tag_counts_as_its_language(client, key):
    assert analyze(client, key, {**CORAL_ANALYZE, "languages": ["en-US"]}).get_json()["languages"] == ["en-US"]


def test_without_language_detection_text_is_taken_as_english(app_factory):
    app = app_factory(LANGUAGE_DETECTION=False)
    body = analyze(app.test_client(), key_for(app), request_for(GERMAN)).get_json()
    assert (body["languages"], body["detectedLanguages"]) == (["en"], ["en"])
    assert "TOXICITY" in body["attributeScores"]


def test_dropping_unsupported_attributes_answers_without_scores(client, key):
    body = analyze(client, key, request_for(GERMAN, languages=["de"], dropUnsupportedAttributes=True))
    assert body.status_code == 200
    assert body.get_json() == {"languages": ["de"], "detectedLanguages": ["de"]}


TOO_LONG = "a" * 20481


@pytest.mark.parametrize("body, message, error_type", [
    (request_for(""), "Comment must be non-empty.", "COMMENT_EMPTY"),
    (request_for("   "), "Comment must be non-empty.", "COMMENT_EMPTY"),
    ({"comment": {}, "requestedAttributes": {"TOXICITY": {}}}, "Comment must be non-empty.", "COMMENT_EMPTY"),
    ({"requestedAttributes": {"TOXICITY": {}}}, "Comment must be non-empty.", "COMMENT_EMPTY"),
    (request_for(TOO_LONG), "Comment text was too many bytes. Value (20481) exceeded limit (20480).",
     "COMMENT_TOO_LONG"),
    (request_for("é" * 10241), "Comment text was too many bytes. Value (20482) exceeded limit (20480).",
     "COMMENT_TOO_LONG"),
    ({"comment": {"text": "Hello there."}}, "Missing requested_attributes", "NO_REQUESTED_ATTRIBUTES"),
    ({"comment": {"text": "Hello there."}, "requestedAttributes": {}}, "Missing requested_attributes",
     "NO_REQUESTED_ATTRIBUTES"),
    (request_for("Hello there.", "TOXICITY", "SARCASM"), "Unknown requested attribute: SARCASM", "INVALID_REQUEST"),
    (request_for("Hello there.", "THREAT"), "Unknown requested attribute: THREAT (the served model has no threat "
     "label; it offers TOXICITY, INSULT, OFF_TOPIC)", "INVALID_REQUEST"),
    (request_for("Hello there.", requestedAttributes={"TOXICITY": {"scoreType": "RAW"}}),
     "Requested score type RAW is not supported by attribute TOXICITY", "INVALID_REQUEST"),
    ({"comment": {"text": "<b>Hello</b>", "type": "HTML"}, "requestedAttributes": {"TOXICITY": {}}},
     "Currently, only 'PLAIN_TEXT' comments are supported", "INVALID_REQUEST"),
    (request_for("Hello there.", context={"entries": [{"text": "a"}],
                                          "articleAndParentComment": {"article": {"text": "b"}}}),
     "Context can have either entries or article_and_parent_comment, but both fields were populated.",
     "INVALID_REQUEST"),
    (request_for("12345 !!! 67"), "Unable to detect language", "LANGUAGE_DETECTION_FAILED"),
])
def test_error_table(client, key, body, message, error_type):
    assert_google_error(analyze(client, key, body), 400, "INVALID_ARGUMENT", message, error_type)


def test_the_byte_limit_is_inclusive(client, key):
    assert analyze(client, key, request_for("é" * 10240, languages=["en"])).status_code == 200


@pytest.mark.parametrize("body, detected", [
    (request_for(GERMAN, "INSULT", "TOXICITY", languages=["de"]), ["de"]),
    (request_for(GERMAN, "INSULT", "TOXICITY"), ["de"]),
    (request_for("Hello there.", "INSULT", languages=["de", "fr"]), ["de", "fr"]),
])
def test_unsupported_languages(client, key, body, detected):
    error = assert_google_error(analyze(client, key, body), 400, "INVALID_ARGUMENT",
                                f"Attribute INSULT does not support request languages: {','.join(detected)}",
                                "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE")
    assert error["details"][0]["languageNotSupportedByAttributeError"] == {"detectedLanguages": detected,
                                                                           "attribute": "INSULT"}


def test_one_supported_language_among_several_is_enough(client, key):
    assert analyze(client, key, request_for("Hello there.", languages=["de", "en"])).status_code == 200


@pytest.mark.parametrize("data, content_type", [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ("comment=hello", "application/x-www-form-urlencoded"),
    (b"\xff\xfe", "application/json"),
    ('{"comment": {"text": "\\ud800"}, "requestedAttributes": {"TOXICITY": {}}}', "application/json"),
])
def test_unreadable_bodies_are_invalid_arguments(client, key, data, content_type):
    response = client.post(f"{ANALYZE}?key={key}", data=data, content_type=content_type)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith("Invalid JSON payload received.")


@pytest.mark.parametrize("body, location", [
    ({"comment": {"text": 5}, "requestedAttributes": {"TOXICITY": {}}}, "comment.text"),
    ({**CORAL_ANALYZE, "spanAnnotations": "yes"}, "spanAnnotations"),
    ({**CORAL_ANALYZE, "requestedAttributes": {"TOXICITY": {"scoreThreshold": "high"}}},
     "requestedAttributes.TOXICITY.scoreThreshold"),
    ({**CORAL_ANALYZE, "languages": "en"}, "languages"),
])
def test_wrongly_typed_fields_are_invalid_arguments(client, key, body, location):
    error = analyze(client, key, body).get_json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["message"].startswith(f"Invalid value at '{location}'")


def test_snake_case_field_names_are_accepted_as_in_proto_json(client, key):
    body = {"comment": {"text": "Hello there."}, "requested_attributes": {"TOXICITY": {"score_threshold": 1.0}},
            "client_token": "t-9", "languages": ["en"]}
    assert analyze(client, key, body).get_json() == {"languages": ["en"], "detectedLanguages": ["en"],
                                                     "clientToken": "t-9"}


def test_a_missing_key_is_permission_denied(client):
    assert_google_error(client.post(ANALYZE, json=CORAL_ANALYZE), 403, "PERMISSION_DENIED",
                        "The request is missing a valid API key.")
    assert_google_error(client.post(f"{ANALYZE}?key=", json=CORAL_ANALYZE), 403, "PERMISSION_DENIED",
                        "The request is missing a valid API key.")


@pytest.mark.parametrize("key", ["nonsense", "mk_abcdef12_wrongsecret"])
def test_a_wrong_key_is_an_invalid_argument(client, key):
    assert_google_error(client.post(f"{ANALYZE}?key={key}", json=CORAL_ANALYZE), 400, "INVALID_ARGUMENT",
                        "API key not valid. Please pass a valid API key.")


def test_the_key_is_checked_before_the_body(client):
    assert_google_error(client.post(ANALYZE, data="{not json", content_type="application/json"), 403,
                        "PERMISSION_DENIED", "The request is missing a valid API key.")


def test_keys_in_headers_are_accepted_too(client, key):
    assert client.post(ANALYZE, json=CORAL_ANALYZE, headers={"X-API-Key": key}).status_code == 200
    assert client.post(ANALYZE, json=CORAL_ANALYZE, headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_analyze_needs_the_score_scope(client, make_key):
    error = assert_google_error(analyze(client, make_key("review"), CORAL_ANALYZE), 403, "PERMISSION_DENIED",
                                "This API key lacks the 'score' scope.")
    assert "details" not in error
    assert analyze(client, make_key("admin"), CORAL_ANALYZE).status_code == 200


def test_a_revoked_key_is_not_valid(app, client, key):
    keys.revoke(app.extensions["moderation.store"], key.split("_")[1])
    assert analyze(client, key, CORAL_ANALYZE).status_code == 400


def test_documented_suggestscore_example_is_stored_as_feedback(app, client, make_key):
    key = make_key("score")
    body = {"comment": {"text": "Get busy living."}, "attributeScores": {"TOXICITY": {"summaryScore": {"value": 0}}},
            "communityId": "Coral:https://c.example.org/", "clientToken": "comment:c-1"}
    response = client.post(f"{SUGGEST}?key={key}", json=body)
    assert response.status_code == 200
    assert response.get_json() == {"clientToken": "comment:c-1", "detectedLanguages": ["en"]}
    with app.extensions["moderation.store"].session() as session:
        row = session.scalars(select(Feedback)).one()
        key_id = app.extensions["moderation.keys"].verify(key).id
        assert (row.text, row.labels, row.context, row.community_id, row.client_token, row.api_key_id) == (
            "Get busy living.", {"toxic": 0}, None, "Coral:https://c.example.org/", "comment:c-1", key_id)


def test_coral_send_feedback_body_is_stored_with_its_context(app, client, key):
    response = client.post(f"/comments:suggestscore?key={key}", data=json.dumps(CORAL_FEEDBACK),
                           content_type="application/json")
    assert response.status_code == 200
    assert response.get_json() == {"clientToken": "comment:c-2", "detectedLanguages": ["en"],
                                   "requestedLanguages": ["en"]}
    with app.extensions["moderation.store"].session() as session:
        row = session.scalars(select(Feedback)).one()
        assert (row.labels, row.context, row.community_id, row.client_token) == (
            {"toxic": 1}, CORAL_CONTEXT, "Coral:https://comments.example.org/", "comment:c-2")


def test_suggestions_may_name_attributes_the_model_lacks_and_give_only_spans(app, client, key):
    text = "Go away \U0001F921. Or else."
    body = {"comment": {"text": text}, "attributeScores": {
        "THREAT": {"spanScores": [{"begin": 0, "end": 11, "score": {"value": 0.2}},
                                  {"begin": 12, "end": 20, "score": {"value": 0.9, "type": "PROBABILITY"}}]},
        "INSULT": {"summaryScore": {"type": "PROBABILITY"}}}}
    assert client.post(f"{SUGGEST}?key={key}", json=body).get_json() == {"detectedLanguages": ["en"]}
    with app.extensions["moderation.store"].session() as session:
        assert session.scalars(select(Feedback)).one().labels == {"threat": 0.9, "insult": 0.0}


def test_suggestscore_accepts_a_review_key_but_not_a_missing_one(client, make_key):
    assert client.post(f"{SUGGEST}?key={make_key('review')}", json=CORAL_FEEDBACK).status_code == 200
    assert_google_error(client.post(SUGGEST, json=CORAL_FEEDBACK), 403, "PERMISSION_DENIED",
                        "The request is missing a valid API key.")


def _suggestion(**attribute_scores):
    return {"comment": {"text": "Hello there."}, "attributeScores": attribute_scores}


@pytest.mark.parametrize("body, message", [
    ({"comment": {"text": "Hello there."}}, "Missing attribute_scores"),
    (_suggestion(), "Missing attribute_scores"),
    (_suggestion(TOXICITY={}), "Attribute TOXICITY needs a summaryScore or spanScores."),
    (_suggestion(TOXICITY=None), "Attribute TOXICITY needs a summaryScore or spanScores."),
    (_suggestion(SARCASM={"summaryScore": {"value": 1}}), "Unknown attribute: SARCASM"),
    (_suggestion(TOXICITY={"summaryScore": {"value": 2}}), "Scores of TOXICITY are probabilities in [0, 1]; got 2.0."),
    (_suggestion(TOXICITY={"summaryScore": {"value": 1, "type": "RAW"}}),
     "Requested score type RAW is not supported by attribute TOXICITY"),
    (_suggestion(TOXICITY={"spanScores": [{"begin": 0, "score": {"value": 1}}]}),
     "Every span score of TOXICITY needs begin and end within the comment (0 to 12 UTF-16 code units)."),
    (_suggestion(TOXICITY={"spanScores": [{"begin": 0, "end": 13, "score": {"value": 1}}]}),
     "Every span score of TOXICITY needs begin and end within the comment (0 to 12 UTF-16 code units)."),
    ({"comment": {"text": ""}, "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}}},
     "Comment must be non-empty."),
    ({**CORAL_FEEDBACK, "clientToken": "x" * 501}, "clientToken is 501 characters long; at most 500 are kept."),
])
def test_malformed_suggestions_are_invalid_arguments(app, client, key, body, message):
    error = client.post(f"{SUGGEST}?key={key}", json=body).get_json()["error"]
    assert (error["code"], error["status"], error["message"]) == (400, "INVALID_ARGUMENT", message)
    assert row_count(app, Feedback) == 0


def test_an_unreachable_store_is_unavailable(app, client, key, tmp_path):
    assert analyze(client, key, CORAL_ANALYZE).status_code == 200  # the key is now cached
    store = app.extensions["moderation.store"]
    unreachable = Store(f"sqlite:///{tmp_path}")  # a directory: SQLite cannot open it
    app.extensions["moderation.store"] = unreachable
    try:
        response = client.post(f"{SUGGEST}?key={key}", json=CORAL_FEEDBACK)
    finally:
        app.extensions["moderation.store"] = store
        unreachable.dispose()
    assert_google_error(response, 503, "UNAVAILABLE", "The feedback store is unreachable; try again shortly.")
    assert "Retry-After" in response.headers


def test_the_rate_limit_is_a_quota_error(app_factory):
    app = app_factory(RATE_LIMIT="2/minute")
    client, key = app.test_client(), key_for(app)
    assert [analyze(client, key, CORAL_ANALYZE).status_code for _ in range(2)] == [200, 200]
    response = analyze(client, key, CORAL_ANALYZE, path="/comments:analyze")
    assert_google_error(response, 429, "RESOURCE_EXHAUSTED", "Quota exceeded: 2 per 1 minute.")
    assert int(response.headers["Retry-After"]) > 0


def test_an_oversized_body_answers_in_googles_envelope(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=1000)
    response = app.test_client().post(f"{ANALYZE}?key={key_for(app)}", json=request_for("a" * 2000))
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == 413


def test_do_not_store_is_honoured_end_to_end(client, make_key, app):
    """Analysis requests leave nothing behind: no stored comment, no thread memory, no feedback."""
    from sqlalchemy import func, select

    from moderation.store.models import Feedback, StoredComment, ThreadEntry

    key = make_key("score")
    for flag in (True, False):
        body = {"comment": {"text": "Shut up, you clueless idiot."}, "requestedAttributes": {"TOXICITY": {}},
                "context": {"entries": [{"text": "Old bridge reopens"}]}, "doNotStore": flag}
        assert client.post(f"/v1alpha1/comments:analyze?key={key}", json=body).status_code == 200
    with app.extensions["moderation.store"].session() as session:
        for table in (StoredComment, ThreadEntry, Feedback):
            assert session.scalar(select(func.count()).select_from(table)) == 0, table.__tablename__

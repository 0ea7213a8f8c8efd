"""Word lists: managed through /v1/wordlists and the CLI, matched through obfuscations by whole words, with offsets."""
import itertools
import json
import re

import pytest

from moderation.service import keys, wordlists
from moderation.runtime.policy import Decision

ABUSIVE = {"entries": [{"text": "idiot", "action": "reject", "reason": "ABUSIVE"},
                       {"text": "cheap-?sunglasses", "regex": True, "action": "reject", "reason": "SPAM"},
                       {"text": "mill road feud", "action": "review"}]}


_ids = itertools.count()


def moderate(client, auth, texts, **fields):
    """Each comment under a new id: one sent again under its id would be answered from the store."""
    response = client.post("/v1/moderate", headers=auth, json={"comments": [
        {"id": f"c{next(_ids)}", "text": t, **fields} for t in texts]})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["results"]


def listed(result):
    return [r for r in result["reasons"] if r.get("rule") == "wordlist"]


def test_an_entry_catches_leetspeak_and_spacing_at_the_right_offsets(app_factory, database_url):
    app = app_factory(DATABASE_URL=database_url)
    client = app.test_client()
    auth = {"X-API-Key": keys.create(app.extensions["moderation.store"], "admin", ["admin"])[0]}
    assert client.put("/v1/wordlists/abuse", headers=auth, json=ABUSIVE).status_code == 201
    texts = ["Such a 1d10t.", "what an i d i o t here", "An IDIOT!", "Idiotic plan, kidiots."]
    leet, spaced, upper, near = moderate(client, auth, texts)
    for text, result, (begin, end) in ((texts[0], leet, (7, 12)), (texts[1], spaced, (8, 17)),
                                       (texts[2], upper, (3, 8))):
        assert result["decision"] == "reject"
        assert listed(result) == [{"rule": "wordlist", "list": "abuse", "entry": "idiot", "begin": begin, "end": end,
                                   "action": "reject", "reason": "ABUSIVE"}]
        assert text[begin:end].replace(" ", "").lower() in ("1d10t", "idiot")
    assert listed(near) == []  # whole words only
    stored = client.get(f"/v1/comments/{leet['id']}", headers=auth).get_json()
    assert listed(stored) == listed(leet)


def test_patterns_phrases_and_actions(client, auth):
    client.put("/v1/wordlists/abuse", headers=auth, json=ABUSIVE)
    spam, phrase, plain = moderate(client, auth, ["Get Cheap-Sunglasses here", "The Mill  Road feud again.",
                                                  "Evening hours will help students who work after school."])
    assert spam["decision"] == "reject" and listed(spam) == [{
        "rule": "wordlist", "list": "abuse", "entry": "cheap-?sunglasses", "begin": 4, "end": 20,
        "action": "reject", "reason": "SPAM"}]
    assert phrase["decision"] in ("review", "reject") and listed(phrase)[0]["entry"] == "mill road feud"
    assert (listed(phrase)[0]["begin"], listed(phrase)[0]["end"]) == (4, 19)  # "Mill  Road feud"
    assert plain["decision"] == "approve" and plain["reasons"] == []


def test_a_review_entry_holds_an_approved_comment_without_overruling_a_rejection(client, auth):
    client.put("/v1/wordlists/watch", headers=auth, json={"entries": [{"text": "students"}]})
    (result,) = moderate(client, auth, ["Evening hours will help students who work after school."])
    assert result["decision"] == "review" and listed(result)[0]["action"] == "review"
    rejected = Decision("reject", [], [{"label": "toxic", "action": "reject"}])
    match = wordlists.Match("watch", wordlists.Entry(text="x"), 0, 1)
    assert wordlists.decide(rejected, [match]).decision == "reject"


@pytest.mark.parametrize("entries, field, words", [
    ([{"text": "ok"}, {"text": "cheap(", "regex": True}], "entries.1.text", "not a valid regular expression"),
    ([{"text": "!!!"}], "entries.0.text", "has no word"),
    ([{"text": ""}], "entries.0.text", "at least 1 character"),
    ([{"text": "a*", "regex": True}], "entries.0.text", "matches empty text"),
    ([{"text": "x", "action": "delete"}], "entries.0.action", "'reject' or 'review'"),
])
def test_a_bad_entry_is_a_422_naming_it(client, auth, entries, field, words):
    response = client.put("/v1/wordlists/bad", headers=auth, json={"entries": entries})
    assert response.status_code == 422
    assert response.get_json()["field"] == field and words in response.get_json()["detail"]
    assert client.get("/v1/wordlists/bad", headers=auth).status_code == 404


def test_get_replace_and_delete(client, auth):
    assert client.put("/v1/wordlists/bad name", headers=auth, json=ABUSIVE).status_code == 422
    created = client.put("/v1/wordlists/abuse", headers=auth, json=ABUSIVE)
    assert created.status_code == 201
    assert client.put("/v1/wordlists/abuse", headers=auth, json={"entries": [{"text": "moron"}]}).status_code == 200
    body = client.get("/v1/wordlists/abuse", headers=auth).get_json()
    assert body["entries"] == [{"text": "moron", "regex": False, "action": "review", "reason": None}]
    assert body["article_ids"] is None
    assert client.delete("/v1/wordlists/abuse", headers=auth).status_code == 204
    assert client.delete("/v1/wordlists/abuse", headers=auth).status_code == 404
    (result,) = moderate(client, auth, ["What a moron."])
    assert listed(result) == []


def test_a_list_for_some_articles_applies_only_to_them(client, auth):
    client.put("/v1/wordlists/local", headers=auth, json={"entries": [{"text": "students"}], "article_ids": ["a1"]})
    text = "Evening hours will help students who work after school."
    (on,) = moderate(client, auth, [text], article_id="a1")
    (off,) = moderate(client, auth, [text], article_id="a2")
    assert listed(on) and not listed(off)


def test_other_workers_see_a_change_within_the_article_cache_time(app_factory, tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    writer, fresh, stale = (app_factory(DATABASE_URL=url, ARTICLE_CACHE_SECONDS=seconds) for seconds in (5, 0, 60))
    auth = {"X-API-Key": keys.create(writer.extensions["moderation.store"], "admin", ["admin"])[0]}
    text = "Evening hours will help students who work after school."
    assert listed(moderate(stale.test_client(), auth, [text])[0]) == []  # read once: no lists
    writer.test_client().put("/v1/wordlists/w", headers=auth, json={"entries": [{"text": "students"}]})
    assert listed(moderate(writer.test_client(), auth, [text])[0])  # at once on the worker that wrote it
    assert listed(moderate(fresh.test_client(), auth, [text])[0])
    assert listed(moderate(stale.test_client(), auth, [text])[0]) == []  # within its 60 seconds


def test_the_card_highlights_the_matched_words(app_factory):
    from moderation.review import users

    app = app_factory(SECRET_KEY="test secret key", STORE_COMMENTS="all")
    client = app.test_client()
    store = app.extensions["moderation.store"]
    auth = {"X-API-Key": keys.create(store, "admin", ["admin"])[0]}
    client.put("/v1/wordlists/abuse", headers=auth, json=ABUSIVE)
    (result,) = moderate(client, auth, ["what an i d i o t <b>here</b>"])
    users.create(store, "mod", "correct horse battery")
    page = client.get("/review/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/review/login", data={"username": "mod", "password": "correct horse battery", "csrf_token": token})
    card = client.get(f"/review/comments/{result['id']}").get_data(as_text=True)
    assert '<mark class="wordlist" title="abuse: idiot">i d i o t</mark>' in card
    assert "&lt;b&gt;here&lt;/b&gt;" in card and "word list abuse: “idiot” (ABUSIVE)" in card


def test_import_from_the_command_line(tmp_path, monkeypatch, capsys):
    from moderation.cli import main

    monkeypatch.setenv("MODERATION_HOME", str(tmp_path))
    monkeypatch.delenv("MODERATION_DATABASE_URL", raising=False)
    plain = tmp_path / "slurs.txt"
    plain.write_text("# one a line\nidiot\nmill road feud\n", encoding="utf-8")
    as_json = tmp_path / "spam.json"
    as_json.write_text(json.dumps(ABUSIVE), encoding="utf-8")
    for argv, said in ((["wordlists", "import", str(plain), "--action", "reject", "--reason", "ABUSIVE"],
                        "word list slurs: created with 2 entries"),
                       (["wordlists", "import", str(as_json), "--name", "spam"], "word list spam: created with 3")):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 0 and said in capsys.readouterr().out
    from moderation.store import Store
    from moderation import settings
    record = wordlists.get(Store(settings.database_url()), "slurs")
    assert record.entries == [{"text": "idiot", "action": "reject", "reason": "ABUSIVE"},
                              {"text": "mill road feud", "action": "reject", "reason": "ABUSIVE"}]
    as_json.write_text(json.dumps({"entries": [{"text": "(", "regex": True}]}), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["wordlists", "import", str(as_json)])
    assert exit_info.value.code == 2 and "entries.0" in capsys.readouterr().err


def test_matching_on_its_own():
    matcher = wordlists.Matcher([wordlists.compile_list("l", [wordlists.Entry(text="idiot"),
                                                          wordlists.Entry(text="f*ck off"),
                                                          wordlists.Entry(text="moron")])])
    text = "You ιdiοt (Greek letters), f*ck off, m0r0n and moronic."
    found = [(m.entry.text, text[m.begin:m.end]) for m in matcher.find(text)]
    assert found == [("idiot", "ιdiοt"), ("f*ck off", "f*ck off"), ("moron", "m0r0n")]

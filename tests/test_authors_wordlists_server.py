"""Issue 14's first two items end to end: `moderation serve` with two workers on a real socket and a real database.

A newcomer's comments are held until approved, then the same text is approved; a word-list entry written `idiot`
catches `1d10t` and `i d i o t` at the right offsets, on whichever worker answers.
"""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from moderation.service import keys
from moderation.store import Store
from test_server import COMMANDS, _call, _serving

pytestmark = pytest.mark.subprocess
PLAIN = "Evening hours will help students who work after school."  # the tiny model approves it


@pytest.fixture
def served(tmp_path, tiny_registry, database_url):
    with _serving(COMMANDS["granian"], tmp_path, database_url, tiny_registry.root,
                  MODERATION_AUTHOR_POLICY='{"hold_first": 2}', MODERATION_ARTICLE_CACHE_SECONDS="0.5") as (url, _):
        store = Store(database_url)
        secret, _ = keys.create(store, "done-when", ["score", "review", "admin"])
        store.dispose()
        yield url, {"X-API-Key": secret}


def _moderate(url, headers, comment_id, text, author="newcomer"):
    status, _, body = _call(url + "/v1/moderate", {"comment": {"id": comment_id, "text": text, "author_id": author}},
                            headers)
    assert status == 200, body
    return json.loads(body)["results"][0]


def test_newcomers_are_held_until_approved_and_word_lists_catch_obfuscations(served):
    url, headers = served
    for comment_id in ("n1", "n2"):
        held = _moderate(url, headers, comment_id, PLAIN)
        assert held["decision"] == "review" and held["reasons"][0]["rule"] == "new_author"
        assert _call(f"{url}/v1/comments/{comment_id}/decision", {"decision": "approve"}, headers)[0] == 200
    # Several requests, so that both workers answer: each reads the author's counts from the database.
    assert {_moderate(url, headers, f"n{i}", PLAIN)["decision"] for i in range(3, 9)} == {"approve"}

    status, _, _ = _call(url + "/v1/wordlists/abuse", None, headers)
    assert status == 404
    request = {"entries": [{"text": "idiot", "action": "review", "reason": "ABUSIVE"}]}
    put = urllib.request.Request(url + "/v1/wordlists/abuse", data=json.dumps(request).encode(),
                                 headers={"Content-Type": "application/json", **headers}, method="PUT")
    with urllib.request.urlopen(put, timeout=10) as response:
        assert response.status == 201
    time.sleep(0.6)  # the other worker's word lists are at most ARTICLE_CACHE_SECONDS old
    for i in range(4):
        for text, (begin, end) in (("Such a 1d10t.", (7, 12)), ("what an i d i o t here", (8, 17))):
            result = _moderate(url, headers, f"w{i}-{begin}", text, author="regular")
            listed = [r for r in result["reasons"] if r.get("rule") == "wordlist"]
            assert listed == [{"rule": "wordlist", "list": "abuse", "entry": "idiot", "begin": begin, "end": end,
                               "action": "review", "reason": "ABUSIVE"}]

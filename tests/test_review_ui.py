"""The moderators' web UI at /review: login and its throttle, CSRF, queues, decisions, bulk, audit, escaping."""
import io
import os
import re
import stat
import threading
import time
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import event, func, select, update

from moderation.cli import main
from moderation.review import login_throttle, queue, users
from moderation.store.models import login_failures, utcnow
from moderation.web.review_ui import cards

PASSWORD = "correct horse battery"
# The tiny model never rejects on its own; this policy holds the toxic comments (tiny-model toxic scores
# 0.70-0.74) and auto-rejects the most toxic one (0.78); the civil ones score about 0.2.
POLICY = {"toxic": {"review": 0.5, "reject": 0.76}, "insult": {"review": 0.5}}
COMMENTS = [
    {"id": "c-held-1", "text": "Whoever runs the library is a pathetic idiot.", "article_id": "library"},
    {"id": "c-held-2", "text": "Stupid idea from stupid people, what a joke.", "article_id": "library"},
    {"id": "c-held-3", "text": "Only a moron would drive over that rusty deck, moron.", "article_id": "bridge",
     "parent_id": "c-ok-1"},
    {"id": "c-rejected", "text": "Shut up, you clueless idiot, nobody asked you.", "article_id": "library"},
    {"id": "c-ok-1", "text": "Nice bridge, the deck repairs look solid.", "article_id": "bridge"},
    {"id": "c-ok-2", "text": "The library staff are always kind to my kids.", "article_id": "library"},
]


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """Real Argon2 with small parameters: the defaults cost most of a second per hash on a test machine."""
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def ui_app(app_factory):
    return app_factory(STORE_COMMENTS="all", POLICY=POLICY, SECRET_KEY="test secret key", LANGUAGE_DETECTION=False)


@pytest.fixture
def store(ui_app):
    return ui_app.extensions["moderation.store"]


@pytest.fixture
def api(ui_app, store):
    """Headers with an API key, after moderating COMMENTS (and storing the bridge article) through the API."""
    from moderation.service import keys

    secret, _ = keys.create(store, "comment system", ["score", "admin"])
    headers = {"X-API-Key": secret}
    client = ui_app.test_client()
    assert client.put("/v1/articles/bridge", json={"title": "Old bridge <em>reopens</em>", "body": "Mill Road."},
                      headers=headers).status_code == 201
    response = client.post("/v1/moderate", json={"comments": COMMENTS}, headers=headers)
    assert response.status_code == 200, response.get_json()
    decisions = {r["id"]: r["decision"] for r in response.get_json()["results"]}
    assert decisions == {"c-held-1": "review", "c-held-2": "review", "c-held-3": "review", "c-rejected": "reject",
                         "c-ok-1": "approve", "c-ok-2": "approve"}
    return headers


@pytest.fixture
def alice(store):
    return users.create(store, "alice", PASSWORD, "moderator")


@pytest.fixture
def client(ui_app, api, alice):
    """A test client logged in as the moderator alice, with COMMENTS in the queues."""
    client = ui_app.test_client()
    assert login(client, "alice").status_code == 302
    return client


def csrf(client) -> str:
    with client.session_transaction("/review/") as session:  # the session exists under /review only
        return session["csrf"]


def login(client, name, password=PASSWORD, address="10.0.0.1"):
    page = client.get("/review/login", environ_base={"REMOTE_ADDR": address})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client.post("/review/login", data={"username": name, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def card_ids(response) -> list[str]:
    return re.findall(r'data-card data-id="([^"]+)"', response.get_data(as_text=True))


def decide(client, client_id, decision, version=1, json=False, **fields):
    data = {"decision": decision, "version": version, "csrf_token": csrf(client),
            "next": "/review/queue/review", **fields}
    headers = {"Accept": "application/json"} if json else {}
    return client.post(f"/review/comments/{client_id}/decision", data=data, headers=headers)


# Logging in and out

def test_login_sets_a_hardened_session_cookie_and_logout_ends_it(ui_app, api, alice):
    client = ui_app.test_client()
    assert client.get("/review/queue/review").headers["Location"] == "/review/login?next=/review/queue/review"
    response = login(client, "alice")
    assert response.status_code == 302 and response.headers["Location"] == "/review/queue/review"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/review/queue/review")
    assert page.status_code == 200 and "alice" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    response = client.post("/review/logout", data={"csrf_token": csrf(client)})
    assert response.headers["Location"] == "/review/login"
    assert client.get("/review/queue/review").status_code == 302


def test_session_cookie_is_secure_when_configured_or_over_tls(app_factory, monkeypatch):
    app = app_factory(SECRET_KEY="k", REVIEW_SECURE_COOKIES=True)
    assert "Secure" in app.test_client().get("/review/login").headers["Set-Cookie"]
    app = app_factory(SECRET_KEY="k")
    assert "Secure" in app.test_client().get("/review/login", base_url="https://review.example").headers["Set-Cookie"]
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "Secure" not in app.test_client().get("/review/login", headers=forwarded).headers["Set-Cookie"]
    app = app_factory(SECRET_KEY="k", REVIEW_TRUSTED_PROXIES=1)
    assert "Secure" in app.test_client().get("/review/login", headers=forwarded).headers["Set-Cookie"]


def test_wrong_passwords_unknown_and_disabled_users_are_refused_alike(ui_app, store, alice):
    users.create(store, "gone", PASSWORD)
    users.disable(store, "gone")
    for name, password in (("alice", "not the password"), ("nobody", PASSWORD), ("gone", PASSWORD)):
        client = ui_app.test_client()
        response = login(client, name, password, address=f"10.1.0.{len(name)}")
        assert response.status_code == 200
        assert "Unknown user name or wrong password." in response.get_data(as_text=True)
        assert client.get("/review/queue/review").status_code == 302


def test_login_keeps_next_inside_the_review_ui(ui_app, alice):
    for target, expected in (("/review/audit", "/review/audit"), ("https://evil.example/", "/review/queue/review"),
                             ("//evil.example/review", "/review/queue/review")):
        client = ui_app.test_client()
        client.get("/review/login")
        response = client.post("/review/login", data={"username": "alice", "password": PASSWORD, "next": target,
                                                      "csrf_token": csrf(client)})
        assert response.headers["Location"] == expected


def test_five_failures_lock_the_user_name_and_the_address_for_the_window(app_factory, database_url):
    ui_app = app_factory(DATABASE_URL=database_url, SECRET_KEY="k", LANGUAGE_DETECTION=False)
    store = ui_app.extensions["moderation.store"]
    users.create(store, "alice", PASSWORD)
    users.create(store, "bob", PASSWORD)
    client = ui_app.test_client()
    for _ in range(5):
        assert login(client, "alice", "wrong password", address="10.0.0.1").status_code == 200
    locked = login(client, "alice", PASSWORD, address="10.0.0.1")
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= 900
    assert "Too many failed logins" in locked.get_data(as_text=True)
    assert login(client, "alice", PASSWORD, address="10.9.9.9").status_code == 429  # the name, from anywhere
    assert login(client, "bob", PASSWORD, address="10.0.0.1").status_code == 429  # the address, for any name
    assert login(client, "bob", PASSWORD, address="10.9.9.9").status_code == 302
    with store.session() as session:  # fifteen minutes later
        session.execute(update(login_failures).values(created_at=utcnow() - timedelta(seconds=901)))
    assert login(ui_app.test_client(), "alice", PASSWORD, address="10.0.0.1").status_code == 302


def test_failures_are_counted_in_the_database_across_workers(app_factory, database_url):
    first = app_factory(DATABASE_URL=database_url, SECRET_KEY="k", LANGUAGE_DETECTION=False)
    second = app_factory(DATABASE_URL=database_url, SECRET_KEY="k", LANGUAGE_DETECTION=False)
    users.create(first.extensions["moderation.store"], "alice", PASSWORD)
    for worker in (first, second, first, second, first):
        login(worker.test_client(), "alice", "wrong password")
    assert login(second.test_client(), "alice", PASSWORD).status_code == 429


def test_parallel_guesses_cannot_slip_past_the_limit_together(app_factory, database_url):
    store = app_factory(DATABASE_URL=database_url, SECRET_KEY="k").extensions["moderation.store"]
    start, checked = threading.Barrier(12), []

    def slow_wrong_password():
        checked.append(1)
        time.sleep(0.2)

    def guess(i):
        start.wait()
        login_throttle.attempt(store, "alice", f"10.2.0.{i}", 5, timedelta(minutes=15), slow_wrong_password)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # At most 5 passwords are checked; when all 12 land together every one may be refused unchecked.
    assert len(checked) <= 5
    with store.session() as session:  # exactly the checks that ran are counted as failures
        assert session.execute(select(func.count()).select_from(login_failures)).scalar() == len(checked)


def test_a_successful_login_forgets_the_names_failures(ui_app, alice):
    client = ui_app.test_client()
    for _ in range(4):
        login(client, "alice", "wrong password", address="10.0.0.2")
    assert login(client, "alice", PASSWORD, address="10.0.0.3").status_code == 302
    for _ in range(4):
        login(client, "alice", "wrong password", address="10.0.0.4")
    assert login(client, "alice", PASSWORD, address="10.0.0.5").status_code == 302


def test_disabling_a_user_or_changing_the_password_ends_open_sessions(client, store):
    assert client.get("/review/audit").status_code == 200
    users.set_password(store, "alice", "another long password")
    assert client.get("/review/audit").status_code == 302
    assert login(client, "alice", "another long password").status_code == 302
    users.disable(store, "alice")
    assert client.get("/review/audit").status_code == 302
    assert login(client, "alice", "another long password").status_code == 200


def test_a_hash_made_with_old_parameters_is_replaced_at_login(store, monkeypatch):
    users.create(store, "carol", PASSWORD)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr(users, "_hasher", stronger)
    before = users.authenticate(store, "carol", PASSWORD)
    assert before is not None
    from moderation.store.models import User
    with store.session() as session:
        new_hash = session.query(User).filter_by(name="carol").one().password_hash
    assert not stronger.check_needs_rehash(new_hash)
    assert users.authenticate(store, "carol", PASSWORD).stamp == before.stamp


def test_user_rules(app_factory, database_url):
    store = app_factory(DATABASE_URL=database_url, SECRET_KEY="k").extensions["moderation.store"]
    with pytest.raises(users.WeakPassword, match="at least 10"):
        users.create(store, "dave", "short")
    with pytest.raises(users.InvalidUser, match="role"):
        users.create(store, "dave", PASSWORD, "owner")
    with pytest.raises(users.InvalidUser, match="user name"):
        users.create(store, "has space", PASSWORD)
    users.create(store, "dave", PASSWORD)
    with pytest.raises(users.DuplicateUser):
        users.create(store, "dave", PASSWORD)
    with pytest.raises(users.UnknownUser):
        users.disable(store, "erin")
    assert isinstance(users.UnknownUser("x"), ValueError)


def test_the_secret_key_is_generated_once_and_shared(app_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("MODERATION_HOME", str(tmp_path / "home"))
    first, second = app_factory(), app_factory()
    key_file = tmp_path / "home" / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    assert len(first.secret_key) >= 32
    assert app_factory(SECRET_KEY="configured").secret_key == "configured"


def test_without_a_usable_secret_key_the_ui_is_unavailable_and_the_api_works(app_factory, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("MODERATION_HOME", str(blocker))
    app = app_factory()
    assert app.secret_key is None
    assert app.test_client().get("/review/login").status_code == 503
    assert app.test_client().get("/healthz").status_code in (200, 503)


# CSRF

def test_every_state_changing_route_refuses_a_missing_or_wrong_csrf_token(client, ui_app, store):
    routes = [rule for rule in ui_app.url_map.iter_rules()
              if rule.endpoint.startswith("review_ui.") and "POST" in rule.methods]
    assert {r.endpoint for r in routes} >= {"review_ui.login", "review_ui.logout", "review_ui.decide",
                                            "review_ui.bulk_apply"}
    for rule in routes:
        url = rule.build({"client_id": "c-held-1"}, append_unknown=False)[1]
        data = {"decision": "approve", "version": "1", "username": "alice", "password": PASSWORD,
                "item": "1:c-held-1", "queue": "review"}
        for headers, fields in (({}, {}), ({}, {"csrf_token": "forged"}), ({"X-CSRF-Token": "forged"}, {})):
            response = client.post(url, data={**data, **fields}, headers=headers)
            assert response.status_code == 403, (url, response.status_code)
            assert "CSRF" in response.get_data(as_text=True)
    assert queue.get(store, "c-held-1")[1] == []
    assert client.get("/review/audit").status_code == 200  # still logged in: logout was refused too


def test_the_csrf_token_also_works_as_a_header_for_scripts(client, store):
    response = client.post("/review/comments/c-held-1/decision", data={"decision": "approve", "version": 1},
                           headers={"X-CSRF-Token": csrf(client), "Accept": "application/json"})
    assert response.status_code == 200 and response.get_json()["status"] == "approved"


# Queues

def test_each_queue_lists_its_comments_with_counts(client):
    expected = {"review": {"c-held-1", "c-held-2", "c-held-3"}, "auto-rejected": {"c-rejected"},
                "approved": {"c-ok-1", "c-ok-2"}, "rejected": set()}
    for name, ids in expected.items():
        page = client.get(f"/review/queue/{name}")
        assert page.status_code == 200 and set(card_ids(page)) == ids
        html = page.get_data(as_text=True)
        for other, other_ids in expected.items():
            assert f'data-count="{other}">{len(other_ids)}<' in html
    assert client.get("/review/").headers["Location"] == "/review/queue/review"


def test_cards_show_scores_reasons_highlights_article_title_and_parent(client):
    html = client.get("/review/queue/review?article=bridge").get_data(as_text=True)
    assert card_ids(client.get("/review/queue/review?article=bridge")) == ["c-held-3"]
    assert "Old bridge &lt;em&gt;reopens&lt;/em&gt;" in html  # the stored article's title, escaped
    assert "In reply to</span>Nice bridge, the deck repairs look solid." in html
    # The tiny model's words add little: "moron" (0.33 log-odds) is under the spans' minimum, the rejected
    # comment's "idiot" (0.78) is not.
    library = client.get("/review/queue/auto-rejected?article=library").get_data(as_text=True)
    assert re.search(r'<mark class="span strength-\d[^"]*label-toxic[^"]*" title="[^"]*">idiot</mark>', library)
    assert "<strong>review</strong>: toxic" in html
    assert re.search(r'<div class="score flagged">\s*<dt>toxic</dt>', html)


GERMAN = "Der Stadtrat hat heute die neuen Radwege beschlossen, was ich sehr gut finde."


def test_a_comment_held_for_its_language_does_not_take_the_queue_down(app_factory, alice):
    """Issue 11: one comment held as unsupported_language (no score in its reason) made the queue answer 500."""
    app = app_factory(POLICY=POLICY, SECRET_KEY="k", LANGUAGE_DETECTION=True)
    from moderation.service import keys

    secret, _ = keys.create(app.extensions["moderation.store"], "comment system", ["score"])
    client = app.test_client()
    response = client.post("/v1/moderate", headers={"X-API-Key": secret}, json={"comments": [
        {"id": "de-1", "text": GERMAN}, COMMENTS[0]]})
    assert [r["flags"] for r in response.get_json()["results"]][0] == ["unsupported_language"]
    login(client, "alice")
    page = client.get("/review/queue/review")
    assert page.status_code == 200, page.get_data(as_text=True)
    assert set(card_ids(page)) == {"de-1", "c-held-1"}
    assert "<strong>review</strong>: unsupported language (de): not scored" in page.get_data(as_text=True)
    assert client.get("/review/comments/de-1").status_code == 200


def _reason_kinds() -> dict[str, dict]:
    """A stored result for every kind of reason the service gives, made by the code that gives them."""
    from moderation.runtime.policy import Policy, unsupported_language

    policy = Policy.from_model({"toxic": {"flag": 0.5, "review": 0.4, "reject": 0.9},
                                "insult": {"flag": 0.5, "review": 0.4, "reject": None},
                                "off_topic": {"flag": 0.5, "review": 0.6, "reject": None}})
    kinds = {"rejected on a score": policy.decide({"toxic": 0.95, "insult": 0.45, "off_topic": 0.1}),
             "held on scores": policy.decide({"toxic": 0.45, "insult": 0.7, "off_topic": 0.65}),
             "held for its language": unsupported_language("de"),
             "held for an unknown language": unsupported_language(None),
             "approved, flagged, no reason": policy.decide({"toxic": 0.2, "insult": 0.2, "off_topic": 0.55})}
    results = {name: {"scores": {} if d.flags == ["unsupported_language"] else {"toxic": 0.5}, "flags": d.flags,
                      "decision": d.decision, "reasons": d.reasons, "spans": []} for name, d in kinds.items()}
    assert {r["action"] for d in kinds.values() for r in d.reasons} == {"review", "reject"}
    # Rows written by older versions: a label the served model no longer has, a reason without its score.
    results["a label an older model had"] = {**results["held on scores"], "reasons": [
        {"label": "spam", "score": 0.8, "threshold": 0.5, "action": "review"}]}
    results["a reason without a score"] = {**results["held on scores"], "reasons": [
        {"label": "toxic", "threshold": 0.5}]}
    return results


def test_a_card_renders_for_every_kind_of_reason(client, store):
    results = _reason_kinds()
    queue.save(store, [queue.ToStore(f"kind-{i}", f"Comment {name}.", "library", None, None, result, None, "v0")
                       for i, (name, result) in enumerate(results.items())])
    ids = {f"kind-{i}" for i in range(len(results))}
    listed = set()
    for name in queue.QUEUES:
        page = client.get(f"/review/queue/{name}?sort=time")
        assert page.status_code == 200, (name, page.get_data(as_text=True))
        listed |= set(card_ids(page)) & ids
    assert listed == ids
    expected = {"rejected on a score": ["<strong>reject</strong>: toxic 0.95 ≥ 0.90",
                                        "<strong>review</strong>: insult 0.45 ≥ 0.40"],
                "held on scores": ["<strong>review</strong>: insult 0.70 ≥ 0.40",
                                   "<strong>review</strong>: off_topic 0.65 ≥ 0.60"],
                "held for its language": ["<strong>review</strong>: unsupported language (de): not scored"],
                "held for an unknown language": ["<strong>review</strong>: unsupported language: not scored"],
                "approved, flagged, no reason": [],
                "a label an older model had": ["<strong>review</strong>: spam 0.80 ≥ 0.50"],
                "a reason without a score": ["<strong>review</strong>: toxic</li>"]}
    for i, name in enumerate(results):
        page = client.get(f"/review/comments/kind-{i}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200, (name, html)
        assert all(line in html for line in expected[name]), (name, html)
        assert ('class="reasons"' in html) == bool(expected[name]), name
    bulk = client.get("/review/bulk", query_string={"queue": "review", "sort_label": "toxic", "decision": "reject"})
    assert bulk.status_code == 200


def test_a_card_says_when_a_newer_model_changed_the_decision(client, ui_app, store):
    from moderation.service.rescore import rescore

    held = {"scores": {"toxic": 0.91, "insult": 0.1, "off_topic": 0.71}, "flags": ["toxic", "off_topic"],
            "decision": "review", "spans": [],
            "reasons": [{"label": "toxic", "score": 0.91, "threshold": 0.5, "action": "review"},
                        {"label": "off_topic", "score": 0.71, "threshold": 0.6, "action": "review"}]}
    queue.save(store, [queue.ToStore("c-was-held", "Lending laptops is a smart use of the library budget.", None,
                                     None, None, held, None, "old<model>"),
                       queue.ToStore("c-still-held", "Whoever runs this library is a pathetic idiot.", "library",
                                     None, None, held, None, "old<model>")])
    rescore(ui_app.extensions["moderation.service"])
    current = ui_app.extensions["moderation.model"].scorer.version
    stored = queue.get(store, "c-was-held")[0]
    assert stored.status == "approved", stored.reasons
    assert queue.get(store, "c-still-held")[0].status == "pending"
    marker = (f"re-scored by model {current}: was held by model old&lt;model&gt; for toxic 0.91 (now "
              f"{stored.scores['toxic']:.2f}), off_topic 0.71 (now {stored.scores['off_topic']:.2f}); now approved")
    for page in (client.get("/review/queue/approved"), client.get("/review/comments/c-was-held")):
        html = page.get_data(as_text=True)
        assert f'<p class="rescored" data-rescored>{marker}</p>' in html
        assert f"model {current} (re-scored; was old&lt;model&gt;)" in html
    still = client.get("/review/comments/c-still-held").get_data(as_text=True)
    assert "data-rescored" not in still and "(re-scored; was old&lt;model&gt;)" in still  # same decision: no marker
    assert "data-rescored" not in client.get("/review/queue/review").get_data(as_text=True)


def test_sorting_filtering_and_pagination(app_factory, api, ui_app, alice):
    page_of_two = app_factory(STORE_COMMENTS="all", POLICY=POLICY, SECRET_KEY="k", REVIEW_PAGE_SIZE=2,
                              LANGUAGE_DETECTION=False).test_client()
    login(page_of_two, "alice")
    by_score = card_ids(page_of_two.get("/review/queue/review?sort=score&sort_label=toxic"))
    second_page = card_ids(page_of_two.get("/review/queue/review?sort=score&sort_label=toxic&page=2"))
    scores = {c.client_id: c.scores["toxic"] for c in
              queue.listing(ui_app.extensions["moderation.store"], queue.QueueQuery(limit=10))[0]}
    ranked = sorted(scores, key=scores.get, reverse=True)
    assert by_score + second_page == ranked
    newest = card_ids(page_of_two.get("/review/queue/review?sort=time")) + \
        card_ids(page_of_two.get("/review/queue/review?sort=time&page=2"))
    assert sorted(newest) == sorted(ranked)
    assert card_ids(page_of_two.get("/review/queue/approved?article=library")) == ["c-ok-2"]
    assert card_ids(page_of_two.get("/review/queue/approved?label=toxic")) == []
    assert set(card_ids(page_of_two.get("/review/queue/review?label=insult"))) == set(ranked[:2])


def test_unknown_queues_labels_and_sorts_are_refused_clearly(client):
    response = client.get("/review/queue/spam")
    assert response.status_code == 404 and "no queue" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    response = client.get("/review/queue/review?label=spam")
    assert response.status_code == 422 and "unknown label" in response.get_data(as_text=True)
    assert client.get("/review/queue/review?sort=random").status_code == 422


def test_a_queue_page_costs_the_same_few_queries_for_few_or_many_cards(client, ui_app, api):
    engine = ui_app.extensions["moderation.store"].engine
    statements = []

    def count(connection, cursor, statement, *args):
        statements.append(statement)

    threads = ui_app.extensions["moderation.threads"]
    threads.flush()  # the thread memory's writes behind the answers would count as the page's
    event.listen(engine, "before_cursor_execute", count)
    try:
        client.get("/review/queue/approved")
        few = len(statements)
        client.post("/v1/moderate", headers=api, json={"comments": [
            {"id": f"more-{i}", "text": f"The library has lovely staff number {i}.", "article_id": f"a{i}",
             "parent_id": f"p{i}"} for i in range(12)]})
        threads.flush()
        statements.clear()
        client.get("/review/queue/approved")
        assert len(statements) == few + 2 <= 14  # + the articles' and the remembered parents' queries (threads: 2)
    finally:
        event.remove(engine, "before_cursor_execute", count)


# Error pages

def test_errors_under_review_are_html_pages_and_json_only_for_scripts(client, ui_app, monkeypatch):
    cases = [("get", "/review/no-such-page", {}, 404, "Not Found"),
             ("get", "/review/comments/no-such-comment", {}, 404, "no stored comment"),
             ("get", "/review/queue/spam", {}, 404, "no queue"),
             ("get", "/review/logout", {}, 405, "Method Not Allowed"),
             ("post", "/review/comments/c-held-1/decision", {"data": {"decision": "approve"}}, 403, "CSRF"),
             ("post", "/review/login", {"data": "x" * 3_000_000,
                                        "content_type": "application/x-www-form-urlencoded"}, 413, "Too Large"),
             ("get", "/review/queue/review?sort=random", {}, 422, "unknown sort")]
    for method, url, arguments, status, text in cases:
        response = getattr(client, method)(url, **arguments)
        assert (response.status_code, response.mimetype) == (status, "text/html"), (url, response.status_code)
        html = response.get_data(as_text=True)
        assert html.startswith("<!doctype html>") and text in html, (url, html)
        scripted = getattr(client, method)(url, headers={"Accept": "application/json"}, **arguments)
        assert (scripted.status_code, scripted.mimetype) == (status, "application/problem+json"), url
    assert set(client.get("/review/logout").headers["Allow"].split(", ")) == {"POST", "OPTIONS"}

    def broken(store):
        raise RuntimeError("a bug")

    monkeypatch.setattr(queue, "counts", broken)
    ui_app.logger.disabled = True  # the traceback is logged, as it should be; not into the test's output
    response = client.get("/review/queue/review")
    assert (response.status_code, response.mimetype) == (500, "text/html")
    assert "Internal server error" in response.get_data(as_text=True)


def test_any_error_under_review_is_a_page_whoever_raises_it(app_factory):
    from werkzeug.exceptions import BadRequest

    from moderation.errors import Problem

    app = app_factory(SECRET_KEY="k", LANGUAGE_DETECTION=False)

    def refuse(kind):
        raise BadRequest("The browser sent a request this server could not understand.") if kind == "http" else \
            Problem("A problem with the request.")

    app.add_url_rule("/review/refuse/<kind>", view_func=refuse)
    app.add_url_rule("/v1/refuse/<kind>", view_func=refuse)
    client = app.test_client()
    for kind in ("http", "problem"):
        response = client.get(f"/review/refuse/{kind}")
        assert (response.status_code, response.mimetype) == (400, "text/html")
        assert "<h1>Bad " in response.get_data(as_text=True)
        assert client.get(f"/v1/refuse/{kind}").mimetype == "application/problem+json"


def test_the_api_keeps_answering_problem_json(client, api):
    for url in ("/v1/no-such-route", "/v1/comments/no-such-comment"):
        response = client.get(url, headers={**api, "Accept": "text/html"})
        assert (response.status_code, response.mimetype) == (404, "application/problem+json")


# Decisions

def test_approve_and_reject_move_cards_and_write_the_audit_trail(client, store):
    response = decide(client, "c-held-1", "approve")
    assert response.status_code == 302 and response.headers["Location"] == "/review/queue/review"
    assert "c-held-1 approved." in client.get("/review/queue/review").get_data(as_text=True)
    response = decide(client, "c-held-2", "reject", json=True, note="personal attack")
    body = response.get_json()
    assert response.status_code == 200 and body["ok"] and body["status"] == "rejected"
    assert body["counts"] == {"review": 1, "auto-rejected": 1, "approved": 3, "rejected": 1, "appeals": 0}
    assert "c-held-1" in card_ids(client.get("/review/queue/approved"))
    assert card_ids(client.get("/review/queue/rejected")) == ["c-held-2"]
    assert card_ids(client.get("/review/queue/review")) == ["c-held-3"]
    comment, history = queue.get(store, "c-held-2")
    assert comment.decided_by == "user:alice" and comment.version == 2
    assert [(h.decision, h.actor, h.outcome, h.note) for h in history] == [
        ("reject", "user:alice", "applied", "personal attack")]
    audit = client.get("/review/audit").get_data(as_text=True)
    assert audit.count("user:alice") >= 2 and "#c-held-2" in audit and "personal attack" in audit


def test_a_decision_on_a_stale_version_is_reported_and_recorded_not_applied(client, store):
    queue.decide(store, "c-held-1", "reject", "user:bob")
    response = decide(client, "c-held-1", "approve", version=1)
    assert response.status_code == 302
    message = client.get("/review/queue/review").get_data(as_text=True)
    assert "decided by someone else meanwhile" in message
    response = decide(client, "c-held-1", "approve", version=1, json=True)
    body = response.get_json()
    assert response.status_code == 409 and response.mimetype == "application/problem+json"
    assert body["current_status"] == "rejected" and body["version"] == 2
    assert "decided by someone else meanwhile" in body["detail"]
    assert 'name="version" value="2"' in body["card"] and "user:bob" in body["card"]
    comment, history = queue.get(store, "c-held-1")
    assert comment.status == "rejected" and comment.decided_by == "user:bob"
    assert [(h.actor, h.outcome) for h in history] == [("user:bob", "applied"), ("user:alice", "conflict"),
                                                      ("user:alice", "conflict")]
    assert "conflict" in client.get("/review/audit").get_data(as_text=True)


def test_labels_set_on_the_card_are_saved_with_the_decision(client, store):
    unset = {"label.toxic": "", "label.insult": "", "label.off_topic": ""}
    decide(client, "c-held-1", "approve", **{**unset, "label.off_topic": "1"})
    assert queue.get(store, "c-held-1")[0].labels == {"off_topic": 1}
    decide(client, "c-held-2", "reject", **unset)
    assert queue.get(store, "c-held-2")[0].labels is None  # nothing set: the decision says what it implies
    response = decide(client, "c-held-3", "reject", **{"label.spam": "1"})
    assert response.status_code == 422 and "unknown label" in response.get_data(as_text=True)
    assert queue.get(store, "c-held-3")[1] == []
    page = client.get("/review/comments/c-held-1").get_data(as_text=True)
    assert re.search(r'name="label.off_topic" value="1"\s+checked', page)
    assert re.search(r'name="label.toxic" value=""\s+checked', page)


def test_bad_decisions_are_refused(client, store):
    assert decide(client, "c-held-1", "maybe").status_code == 422
    assert decide(client, "no-such-comment", "approve").status_code == 404
    response = client.post("/review/comments/c-held-1/decision",
                           data={"decision": "approve", "csrf_token": csrf(client)})
    assert response.status_code == 422 and "version" in response.get_data(as_text=True)
    assert decide(client, "c-held-1", "approve", note="x" * 5001).status_code == 422
    assert queue.get(store, "c-held-1")[1] == []


def test_a_decision_after_the_session_ended_asks_the_script_to_log_in_again(ui_app, api, alice):
    client = ui_app.test_client()
    client.get("/review/login")
    response = decide(client, "c-held-1", "approve", json=True)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


# Bulk

def test_bulk_reject_by_score_range_with_a_confirmation_page(client, store):
    scores = {c.client_id: c.scores["toxic"] for c in queue.listing(store, queue.QueueQuery())[0]}
    cutoff = sorted(scores.values())[1]  # the two highest of the three held comments
    chosen = {cid for cid, score in scores.items() if score >= cutoff}
    args = {"queue": "review", "sort_label": "toxic", "min_score": f"{cutoff}", "decision": "reject"}
    page = client.get("/review/bulk", query_string=args)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Reject 2 comments?" in html
    items = re.findall(r'name="item" value="([^"]+)"', html)
    assert {item.split(":", 1)[1] for item in items} == chosen
    assert all(queue.get(store, cid)[0].status == "pending" for cid in chosen)  # nothing happened yet
    queue.decide(store, sorted(chosen)[0], "approve", "user:bob")  # someone is faster for one of them
    response = client.post("/review/bulk", data={**args, "item": items, "csrf_token": csrf(client)})
    assert response.status_code == 302
    flashed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 comment(s) rejected; 1 decided by someone else meanwhile" in flashed
    assert queue.get(store, sorted(chosen)[1])[0].status == "rejected"
    assert queue.get(store, sorted(chosen)[0])[0].status == "approved"
    history = queue.get(store, sorted(chosen)[0])[1]
    assert [(h.actor, h.outcome) for h in history] == [("user:bob", "applied"), ("user:alice", "conflict")]
    assert history[1].note.startswith("bulk reject: toxic")
    assert set(scores) - chosen == set(card_ids(client.get("/review/queue/review")))


def test_bulk_refuses_bad_ranges_and_oversized_selections(client, app_factory):
    base = {"queue": "review", "sort_label": "toxic", "decision": "reject"}
    assert client.get("/review/bulk", query_string={**base, "min_score": "lots"}).status_code == 422
    assert client.get("/review/bulk", query_string={**base, "max_score": "2"}).status_code == 422
    assert client.get("/review/bulk", query_string={**base, "decision": "delete"}).status_code == 422
    assert "No comments match" in client.get("/review/bulk", query_string={**base, "min_score": "0.99"}).get_data(
        as_text=True)
    response = client.post("/review/bulk", data={**base, "csrf_token": csrf(client)})
    assert response.status_code == 422
    small = app_factory(STORE_COMMENTS="all", SECRET_KEY="k", REVIEW_BULK_MAX=1, LANGUAGE_DETECTION=False).test_client()
    login(small, "alice")
    html = small.get("/review/bulk", query_string=base).get_data(as_text=True)
    assert "more than 1, the most one bulk action decides" in html and 'name="item"' not in html


# Audit

def test_moderators_see_their_own_decisions_and_admins_see_everyone(client, ui_app, store):
    users.create(store, "root", PASSWORD, "admin")
    decide(client, "c-held-1", "approve")
    queue.decide(store, "c-held-2", "reject", "user:bob")
    mine = client.get("/review/audit?actor=user:bob").get_data(as_text=True)
    assert "#c-held-1" in mine and "#c-held-2" not in mine
    admin = ui_app.test_client()
    login(admin, "root", address="10.0.0.9")
    everyone = admin.get("/review/audit").get_data(as_text=True)
    assert "#c-held-1" in everyone and "#c-held-2" in everyone
    only_bob = admin.get("/review/audit?actor=user:bob").get_data(as_text=True)
    assert "#c-held-2" in only_bob and "#c-held-1" not in only_bob
    comment_page = client.get("/review/comments/c-held-2").get_data(as_text=True)
    assert "user:bob" in comment_page and "applied" in comment_page


# Escaping

def test_comment_markup_is_shown_as_text(client, api, store):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)> you pathetic <b>idiot</b> & "friends"'
    response = client.post("/v1/moderate", headers=api, json={"comment": {"id": "xss", "text": payload,
                                                                          "parent_id": "c-ok-1"}})
    assert response.get_json()["results"][0]["decision"] == "review"
    html = client.get("/review/queue/review").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>idiot" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&amp; &#34;friends&#34;" in html


def test_highlight_escapes_every_piece_and_merges_overlapping_spans():
    text = "a <b>bad</b> word"
    spans = [{"label": "toxic", "begin": 2, "end": 12, "score": 1.7},
             {"label": "insult", "begin": 5, "end": 8, "score": 0.7},
             {"label": "toxic", "begin": 40, "end": 50, "score": 0.9},  # out of range: ignored
             {"label": "toxic", "begin": "2", "end": 3, "score": 0.9}]  # not offsets: ignored
    html = str(cards.highlight(text, spans))
    assert html == ('a <mark class="span strength-3 label-toxic" title="toxic 1.70">&lt;b&gt;</mark>'
                    '<mark class="span strength-3 label-insult label-toxic" title="insult 0.70, toxic 1.70">bad</mark>'
                    '<mark class="span strength-3 label-toxic" title="toxic 1.70">&lt;/b&gt;</mark> word')
    assert 'class="span strength-1 label-insult"' in str(cards.highlight(text, spans[1:2]))
    assert str(cards.highlight("<i>", [])) == "&lt;i&gt;"


# The users command

def test_users_cli_creates_lists_and_disables_users(ui_app, store, monkeypatch, capsys):
    monkeypatch.setenv("MODERATION_DATABASE_URL", str(store.engine.url))

    def run(*argv, stdin="", expect=0):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as exit_info:
            main(["users", *argv])
        out, err = capsys.readouterr()
        assert exit_info.value.code == expect, err
        assert "Traceback" not in err
        return out, err

    assert run("create", "mod1", stdin=PASSWORD + "\nignored\n")[0] == "created moderator mod1\n"
    assert run("create", "boss", "--role", "admin", stdin=PASSWORD + "\n")[0] == "created admin boss\n"
    assert run("create", "mod1", stdin=PASSWORD + "\n", expect=2)[1] == "error: user 'mod1' exists already\n"
    assert run("create", "mod2", stdin="short\n", expect=2)[1] == \
        "error: the password must have at least 10 characters\n"
    run("create", "mod3", "--role", "owner", stdin=PASSWORD + "\n", expect=2)
    listed = run("list")[0].splitlines()
    assert [line.split()[:3] for line in listed] == [["boss", "admin", "active"], ["mod1", "moderator", "active"]]
    assert login(ui_app.test_client(), "mod1").status_code == 302
    assert run("disable", "mod1")[0] == "disabled mod1\n"
    assert run("disable", "nobody", expect=2)[1] == "error: no user 'nobody'\n"
    assert run("list")[0].splitlines()[1].split()[:3] == ["mod1", "moderator", "disabled"]
    assert login(ui_app.test_client(), "mod1", address="10.0.0.7").status_code == 200
    assert run("password", "boss", stdin="a new long password\n")[0].startswith("password changed for boss")
    assert login(ui_app.test_client(), "boss", "a new long password", address="10.0.0.8").status_code == 302


def test_a_card_shows_its_thread_around_it_and_the_articles_first_paragraph(app_factory):
    """Issue 14: the comments before and after it with where each stands, a few shown and the rest collapsed."""
    app = app_factory(STORE_COMMENTS="held", POLICY=POLICY, SECRET_KEY="k", LANGUAGE_DETECTION=False,
                      THREAD_WRITE_SECONDS=0)
    store = app.extensions["moderation.store"]
    from moderation.service import keys

    secret, _ = keys.create(store, "comment system", ["score", "admin"])
    api, headers = app.test_client(), {"X-API-Key": secret}
    api.put("/v1/articles/library", headers=headers, json={
        "title": "Library opens Sundays", "body": "The library will open on Sundays.\n\nFines are gone too."})
    before = [f"Sunday hours are welcome, says reader {k}." for k in range(5)]
    after = ["Late fees never made sense.", "My kids will love this."]
    for k, text in enumerate(before):
        api.post("/v1/moderate", headers=headers, json={"comment": {"id": f"b{k}", "text": text, "article_id": "library"}})
    held = api.post("/v1/moderate", headers=headers, json={"comment": {
        "id": "held", "text": "Whoever runs the library is a pathetic idiot.", "article_id": "library"}}).get_json()
    assert held["results"][0]["decision"] == "review"
    for k, text in enumerate(after):
        api.post("/v1/moderate", headers=headers, json={"comment": {"id": f"a{k}", "text": text, "article_id": "library"}})
    users.create(store, "mod", PASSWORD, "moderator")
    ui = app.test_client()
    assert login(ui, "mod").status_code == 302
    html = ui.get("/review/queue/review").get_data(as_text=True)
    card = html[html.index('data-id="held"'):]
    card = card[:card.index("</article>")]
    assert "The library will open on Sundays." in card and "Fines are gone too." not in card  # the first paragraph
    shown = re.findall(r'data-thread-comment="([^"]+)"', card)
    assert shown == ["b0", "b1", "b2", "b3", "b4", "a0", "a1"]  # in order around it
    assert "2 earlier comments</summary>" in card  # b0 and b1 collapsed, the last three before it shown
    assert 'state-published">published</span> Sunday hours are welcome, says reader 4.' in card
    assert card.index('data-thread-comment="b4"') < card.index('class="text"') < card.index('data-thread-comment="a0"')

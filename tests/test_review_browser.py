"""The review UI in a real browser: Debian's Chromium driven by Playwright against the real app on a real socket.

CI installs Chromium (``make browser``); a machine without ``/usr/bin/chromium`` fails here rather than skip.
"""
import math
import os
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from moderation.review import queue, users
from moderation.review.export import training_rows
from moderation.service import keys

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "a long moderator password"
XSS = '<script>window.injected = 1; alert("script")</script><img src=x onerror="alert(1)"> you pathetic idiot'
HELD = [
    ("h1", "You clueless idiot, shut up.", "library", None),
    ("h2", "Shut up, you clueless idiot, nobody asked you.", "library", "ok1"),
    ("h3", "You pathetic idiot.", "bridge", None),
    ("h4", "Only a moron would drive over that rusty deck, moron.", "bridge", "ok2"),
    ("h5", "Stupid idea from stupid people, what a joke.", "library", None),
    ("h6", "Whoever runs the library is a pathetic idiot.", "library", None),
    ("xss", XSS, "bridge", None),
]
APPROVED = [("ok1", "Evening hours will help students who work after school.", "library", None),
            ("ok2", "The engineers who fixed the steel deck did careful work.", "bridge", None)]


def make_app(app_factory, **config):
    # Explicit review thresholds: the tiny model's own sit right at the scores of these comments (about 0.7).
    return app_factory(**{"STORE_COMMENTS": "all", "SECRET_KEY": "browser test key", "LANGUAGE_DETECTION": False,
                          "POLICY": {"toxic": {"review": 0.5}, "insult": {"review": 0.5}}, **config})


def stock(app, comments) -> list[dict]:
    """Store both articles, moderate ``comments`` through the API and create the moderator; the API's results."""
    store = app.extensions["moderation.store"]
    secret, _ = keys.create(store, "comment system", ["score", "admin"])
    client, headers = app.test_client(), {"X-API-Key": secret}
    client.put("/v1/articles/bridge", headers=headers, json={
        "title": "Old bridge reopens after repairs", "body": "The river bridge on Mill Road reopens Monday."})
    client.put("/v1/articles/library", headers=headers, json={
        "title": "Library adds evening hours", "body": "The central library will stay open until nine."})
    response = client.post("/v1/moderate", headers=headers, json={"comments": [
        {"id": cid, "text": text, "article_id": article, "parent_id": parent}
        for cid, text, article, parent in comments]})
    users.create(store, "maria", PASSWORD)
    return response.get_json()["results"]


@contextmanager
def serving(app):
    """``app`` on 127.0.0.1 and a free port, for as long as the block runs; its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


@pytest.fixture
def server(app_factory):
    """The real app on 127.0.0.1 and a free port, with comments held for review and a moderator."""
    app = make_app(app_factory)
    results = stock(app, APPROVED + HELD)
    assert [r["decision"] for r in results] == ["approve"] * 2 + ["review"] * len(HELD)
    with serving(app) as base:
        yield app, base


@pytest.fixture
def page():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's Chromium with `make browser` "
                    "(apt-get install -y chromium); the review UI's browser tests need it.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1360, "height": 1000})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def log_in(page, base: str) -> None:
    page.goto(base + "/review/login")
    page.fill("#username", "maria")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def selected_id(page) -> str:
    return page.locator("[data-card].selected").get_attribute("data-id")


def screenshot(page, name: str) -> None:
    """Always into test-artifacts/; into docs/ (the README's picture) only when asked, to keep git clean."""
    directories = [REPO / "test-artifacts"] + ([REPO / "docs"] if os.environ.get("UPDATE_DOCS_SCREENSHOTS") else [])
    for directory in directories:
        directory.mkdir(exist_ok=True)
        page.screenshot(path=str(directory / name))


def test_a_moderator_reviews_with_the_keyboard_corrects_labels_bulk_rejects_and_audits(server, page):
    from playwright.sync_api import expect

    app, base = server
    store = app.extensions["moderation.store"]
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(base + "/review/")
    expect(page).to_have_url(base + "/review/login?next=/review/")
    page.fill("#username", "maria")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(base + "/review/queue/review")  # where she was going: the held queue
    cards = page.locator("[data-card]")
    expect(cards).to_have_count(len(HELD))
    expect(page.locator('[data-count="review"]')).to_have_text(str(len(HELD)))
    expect(page.locator("[data-card].selected")).to_have_count(1)
    expect(page.locator('[data-id="h4"] .article')).to_have_text("Old bridge reopens after repairs")
    expect(page.locator('[data-id="h4"] .parent')).to_contain_text("engineers who fixed the steel deck")
    expect(page.locator("[data-card] mark.span").first).to_be_visible()
    screenshot(page, "review-queue.png")

    # The script payload is text on the page: nothing ran, nothing was injected.
    expect(page.locator('[data-id="xss"] .text')).to_contain_text(XSS.split("<img")[0])
    assert page.evaluate("window.injected") is None
    assert page.locator("[data-card] .text img, [data-card] .text script").count() == 0

    # j / k move the selection; a approves, r rejects, each at the version shown.
    first = selected_id(page)
    page.keyboard.press("j")
    second = selected_id(page)
    assert second != first
    page.keyboard.press("k")
    assert selected_id(page) == first
    page.keyboard.press("a")
    expect(page.locator(f'[data-id="{first}"]')).to_have_count(0)
    expect(page.locator("#live")).to_have_text(f"{first} approved.")
    assert selected_id(page) == second
    page.keyboard.press("r")
    expect(page.locator(f'[data-id="{second}"]')).to_have_count(0)
    expect(page.locator('[data-count="review"]')).to_have_text(str(len(HELD) - 2))
    expect(page.locator('[data-count="approved"]')).to_have_text("3")
    assert queue.get(store, first)[0].status == "approved" and queue.get(store, first)[0].decided_by == "user:maria"
    assert queue.get(store, second)[0].status == "rejected"

    # Labels: "not toxic, not an insult, but off-topic" (each key steps unset, yes, no), then approve.
    third = selected_id(page)
    for key in ("1", "1", "2", "2", "3"):
        page.keyboard.press(key)
    expect(page.locator(f'[data-id="{third}"] input[name="label.off_topic"][value="1"]')).to_be_checked()
    page.keyboard.press("a")
    expect(page.locator(f'[data-id="{third}"]')).to_have_count(0)
    assert queue.get(store, third)[0].labels == {"toxic": 0, "insult": 0, "off_topic": 1}

    # Someone else decides the selected comment meanwhile: the attempt is refused and the card refreshed.
    fourth = selected_id(page)
    queue.decide(store, fourth, "reject", "user:olga")
    page.keyboard.press("a")
    expect(page.locator("#live")).to_contain_text("decided by someone else meanwhile")
    expect(page.locator(f'[data-id="{fourth}"].conflict .badge')).to_have_text("rejected")
    assert queue.get(store, fourth)[0].decided_by == "user:olga"

    # The help overlay.
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()

    # Bulk: reject every held comment with a toxic score of at least the lowest still held, after confirming.
    page.goto(base + "/review/queue/review")
    remaining = page.locator("[data-card]").evaluate_all("cards => cards.map(card => card.dataset.id)")
    low = min(queue.get(store, cid)[0].scores["toxic"] for cid in remaining)
    page.select_option("#b-label", "toxic")
    page.fill("#b-min", f"{math.floor(low * 100) / 100:.2f}")
    page.select_option("#b-decision", "reject")
    page.click("form.bulk button[type=submit]")
    expect(page.locator("h1")).to_have_text(f"Reject {len(remaining)} comments?")
    page.click("form[action$='/review/bulk'] button.btn-reject")
    expect(page.locator(".flash-ok")).to_contain_text(
        f"{len(remaining)} comment(s) rejected; 0 decided by someone else")
    expect(page.locator("[data-card]")).to_have_count(0)
    assert all(queue.get(store, cid)[0].status == "rejected" for cid in remaining)

    # The audit trail: every attempt of hers, the conflict included, newest first.
    page.click("nav.mainnav >> text=Audit")
    rows = page.locator("table.audit tbody tr")
    expect(rows).to_have_count(4 + len(remaining))
    expect(rows.first).to_contain_text("bulk reject: toxic")
    expect(page.locator("table.audit tr.outcome-conflict")).to_have_count(1)
    expect(page.locator("table.audit tr.outcome-conflict")).to_contain_text(f"#{fourth}")
    assert dialogs == []


def test_suggested_labels_are_not_labels_until_the_moderator_sets_them(server, page):
    """The model's flags show as suggestions, every label unset; keys and clicks step through unset, yes, no."""
    from playwright.sync_api import expect

    app, base = server
    log_in(page, base)
    card = page.locator('[data-id="h5"]')
    card.click()

    def state(label):
        return card.locator(f'input[name="label.{label}"]:checked').get_attribute("value")

    expect(card.locator(".choice.suggested")).to_have_count(2)
    expect(card.locator('.choice[data-label="toxic"] .suggestion')).to_have_text("model: yes?")
    expect(card.locator('.choice[data-label="off_topic"] .suggestion')).to_have_count(0)
    assert [state(label) for label in ("toxic", "insult", "off_topic")] == ["", "", ""]
    page.keyboard.press("2")
    assert state("insult") == "1"  # a suggestion confirmed
    page.keyboard.press("2")
    assert state("insult") == "0"
    page.keyboard.press("3")
    page.keyboard.press("3")
    page.keyboard.press("3")
    assert state("off_topic") == ""  # round to unset again
    card.locator('.choice[data-label="off_topic"] label', has_text="yes").click()
    assert state("off_topic") == "1" and state("toxic") == ""
    card.locator("button.btn-approve").click()
    expect(card).to_have_count(0)

    store = app.extensions["moderation.store"]
    assert queue.get(store, "h5")[0].labels == {"insult": 0, "off_topic": 1}  # toxic was only suggested
    row = next(r for r in training_rows(store) if r["id"] == "h5")
    assert (row["toxic"], row["insult"], row["off_topic"], row["profanity"]) == (0, 0, 1, None)


def test_the_ui_works_without_javascript(server, page):
    from playwright.sync_api import expect

    app, base = server
    page.context.close()
    context = page.context.browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base + "/review/login")
    page.fill("#username", "maria")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(base + "/review/queue/review?sort=time")
    target = page.locator("[data-card]").first.get_attribute("data-id")
    page.locator(f'[data-id="{target}"] button.btn-reject').click()
    expect(page.locator(".flash-ok")).to_have_text(f"{target} rejected.")
    expect(page.locator(f'[data-id="{target}"]')).to_have_count(0)
    assert queue.get(app.extensions["moderation.store"], target)[0].status == "rejected"
    context.close()


def test_a_comment_in_another_language_is_reviewed_like_any_other(app_factory, page):
    """Issue 11: a comment held as unsupported_language (a reason with no score) made the queue answer 500."""
    from playwright.sync_api import expect

    app = make_app(app_factory, LANGUAGE_DETECTION=True)
    german = ("de", "Der Stadtrat hat heute die neuen Radwege beschlossen, was ich sehr gut finde.", "bridge", None)
    results = stock(app, HELD[:2] + [german])
    assert results[-1]["flags"] == ["unsupported_language"] and results[-1]["language"] == "de"
    with serving(app) as base:
        log_in(page, base)
        expect(page).to_have_url(base + "/review/queue/review")
        expect(page.locator("[data-card]")).to_have_count(3)
        card = page.locator('[data-id="de"]')
        expect(card.locator(".reasons")).to_contain_text("unsupported language (de): not scored")
        expect(card.locator(".scores .score")).to_have_count(0)
        card.locator("button.btn-approve").click()
        expect(page.locator("#live")).to_have_text("de approved.")
        expect(card).to_have_count(0)
        assert queue.get(app.extensions["moderation.store"], "de")[0].status == "approved"

        # The UI's errors are pages a person can read, with a way back; never raw problem+json.
        for path, title in (("/review/comments/no-such-comment", "Not found"), ("/review/no-such-page", "Not Found"),
                            ("/review/logout", "Method Not Allowed")):
            response = page.goto(base + path)
            assert response.headers["content-type"].startswith("text/html"), path
            expect(page.locator("main h1")).to_have_text(title)
            expect(page.locator("main a", has_text="Back to the queues")).to_be_visible()


def test_the_card_shows_word_list_matches_and_the_authors_history(app_factory, page):
    from playwright.sync_api import expect

    app = make_app(app_factory, AUTHOR_POLICY={"hold_first": 2})
    stock(app, [("x0", APPROVED[1][1], "bridge", None)])
    store = app.extensions["moderation.store"]
    secret, _ = keys.create(store, "admin", ["score", "admin"])
    client, headers = app.test_client(), {"X-API-Key": secret}
    assert client.put("/v1/wordlists/abuse", headers=headers, json={"entries": [
        {"text": "idiot", "action": "review", "reason": "ABUSIVE"}]}).status_code == 201
    client.post("/v1/moderate", headers=headers, json={"comments": [
        {"id": "w1", "text": "Such a 1d10t, that i d i o t.", "author_id": "writer", "article_id": "bridge"},
        {"id": "w2", "text": APPROVED[0][1], "author_id": "writer", "article_id": "library"},
        {"id": "x1", "text": APPROVED[1][1], "author_id": "someone", "article_id": "bridge"}]})
    queue.decide(store, "w2", "approve", "user:maria")
    with serving(app) as base:
        log_in(page, base)
        card = page.locator('[data-id="w1"]')
        marks = card.locator("mark.wordlist")
        expect(marks).to_have_text(["1d10t", "i d i o t"])
        expect(marks.first).to_have_attribute("title", "abuse: idiot")
        expect(card.locator(".reasons")).to_contain_text("word list abuse: “idiot” (ABUSIVE)")
        expect(card.locator(".author .counts")).to_contain_text("1 approved · 0 rejected · 0 auto-rejected")
        expect(card.locator(".author .recent a")).to_have_text(["approved"])
        card.locator(".author a.others").click()
        expect(page).to_have_url(base + "/review/queue/review?author=writer")
        expect(page.locator("[data-card]")).to_have_count(1)
        screenshot(page, "review-author-wordlist.png")


def test_a_card_a_newer_model_decided_says_so_and_a_moderator_can_still_overrule_it(app_factory, page):
    from playwright.sync_api import expect

    from moderation.service.rescore import rescore

    app = make_app(app_factory)
    store = app.extensions["moderation.store"]
    users.create(store, "maria", PASSWORD)
    held = {"scores": {"toxic": 0.91, "insult": 0.1, "off_topic": 0.2}, "flags": ["toxic"], "decision": "review",
            "spans": [], "reasons": [{"label": "toxic", "score": 0.91, "threshold": 0.5, "action": "review"}]}
    queue.save(store, [queue.ToStore("old1", APPROVED[1][1], None, None, None, held, None, "old-model")])
    assert rescore(app.extensions["moderation.service"]).decisions["approve"] == 1
    with serving(app) as base:
        log_in(page, base)
        page.goto(base + "/review/queue/approved")
        card = page.locator('[data-id="old1"]')
        expect(card.locator(".rescored")).to_contain_text("was held by model old-model for toxic 0.91 (now 0.")
        expect(card.locator(".rescored")).to_contain_text("; now approved")
        screenshot(page, "review-rescored.png")
        card.locator("select[name=reason]").select_option("SPAM")
        card.locator("button[value=reject]").click()
        expect(page.locator('[data-id="old1"]')).to_have_count(0)
    comment = queue.get(store, "old1")[0]
    assert (comment.status, comment.decided_by) == ("rejected", "user:maria")

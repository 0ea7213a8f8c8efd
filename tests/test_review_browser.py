"""The review UI in a real browser: Debian's Chromium driven by Playwright against the real app on a real socket.

CI installs Chromium (``make browser``); a machine without ``/usr/bin/chromium`` fails here rather than skip.
"""
import math
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from moderation.review import queue, users
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


@pytest.fixture
def server(app_factory):
    """The real app on 127.0.0.1 and a free port, with comments held for review and a moderator."""
    # Explicit review thresholds: the tiny model's own sit right at the scores of these comments (about 0.7).
    app = app_factory(STORE_COMMENTS="all", SECRET_KEY="browser test key", LANGUAGE_DETECTION=False,
                      POLICY={"toxic": {"review": 0.5}, "insult": {"review": 0.5}})
    store = app.extensions["moderation.store"]
    secret, _ = keys.create(store, "comment system", ["score", "admin"])
    client, headers = app.test_client(), {"X-API-Key": secret}
    client.put("/v1/articles/bridge", headers=headers, json={
        "title": "Old bridge reopens after repairs", "body": "The river bridge on Mill Road reopens Monday."})
    client.put("/v1/articles/library", headers=headers, json={
        "title": "Library adds evening hours", "body": "The central library will stay open until nine."})
    response = client.post("/v1/moderate", headers=headers, json={"comments": [
        {"id": cid, "text": text, "article_id": article, "parent_id": parent}
        for cid, text, article, parent in APPROVED + HELD]})
    assert [r["decision"] for r in response.get_json()["results"]] == ["approve"] * 2 + ["review"] * len(HELD)
    users.create(store, "maria", PASSWORD)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()


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

    # Labels: "not toxic, not an insult, but off-topic", then approve.
    third = selected_id(page)
    for key in ("1", "2", "3"):
        page.keyboard.press(key)
    expect(page.locator(f'[data-id="{third}"] input[value="off_topic"]')).to_be_checked()
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

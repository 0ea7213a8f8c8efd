"""Retention: `moderation purge` removes old comment text, optionally keeping anonymised labels."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from moderation.review import queue
from moderation.review.export import training_rows
from moderation.review.retention import purge
from moderation.service import keys
from moderation.store.models import StoredComment, ThreadEntry, utcnow


@pytest.fixture
def stocked(app_factory, database_url):
    app = app_factory(DATABASE_URL=database_url, STORE_COMMENTS="all")
    store = app.extensions["moderation.store"]
    secret, _ = keys.create(store, "k", ["score"])
    app.test_client().post("/v1/moderate", headers={"X-API-Key": secret}, json={"comments": [
        {"id": f"old{i}", "text": f"You idiot number {i}", "article_id": "a", "author_id": "u1"} for i in range(3)]
        + [{"id": "new", "text": "Fresh comment, you idiot", "article_id": "a", "author_id": "u2"}]})
    app.extensions["moderation.threads"].flush()  # thread memory is written behind the answer
    queue.decide(store, "old0", "reject", "user:m", labels={"insult": 1})
    with store.session() as session:
        long_ago = utcnow() - timedelta(days=40)
        session.execute(update(StoredComment).where(StoredComment.client_id.like("old%")).values(created_at=long_ago))
        session.execute(update(ThreadEntry).where(ThreadEntry.comment_id.like("old%")).values(created_at=long_ago))
    return store


def test_purge_deletes_old_comments_and_thread_memory(stocked):
    report = purge(stocked, 30)
    assert (report.comments_deleted, report.comments_anonymised, report.thread_entries_deleted) == (3, 0, 3)
    assert set(queue.existing(stocked, ["old0", "old1", "new"])) == {"new"}


def test_purge_keeping_labels_anonymises_decided_comments(stocked):
    report = purge(stocked, 30, keep_labels=True)
    assert (report.comments_deleted, report.comments_anonymised) == (2, 1)
    kept, history = queue.get(stocked, "old0")
    assert kept.text == "" and kept.author_id is None and kept.labels == {"insult": 1} and kept.status == "rejected"
    assert len(history) == 1
    assert [r["id"] for r in training_rows(stocked)] == []  # no text, nothing to train on
    assert purge(stocked, 30, keep_labels=True).comments_anonymised == 0
    with stocked.session() as session:
        assert session.scalar(select(func.count()).select_from(StoredComment)) == 2


def test_purge_cli(tmp_path, monkeypatch, cli):
    monkeypatch.setenv("MODERATION_HOME", str(tmp_path))
    monkeypatch.delenv("MODERATION_DATABASE_URL", raising=False)
    assert "deleted 0 comments" in cli("purge", "--older-than", "30", "--keep-labels")[0]
    cli("purge", "--older-than", "-1", expect=2)


def test_purge_removes_old_author_decisions_and_authors_not_seen_since(stocked):
    from moderation.store.models import Author, AuthorEvent

    with stocked.session() as session:
        long_ago = utcnow() - timedelta(days=40)
        session.execute(update(AuthorEvent).values(created_at=long_ago))
        session.execute(update(Author).where(Author.id == "u1").values(last_seen=long_ago))
    report = purge(stocked, 30)
    assert (report.author_events_deleted, report.authors_deleted) == (1, 1)  # old0's rejection; u1
    with stocked.session() as session:
        assert session.scalars(select(Author.id)).all() == ["u2"]

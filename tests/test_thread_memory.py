"""Per-process caches in front of the store: thread memory written behind, articles read through a TTL."""
import time

import pytest
from sqlalchemy import func, select

from moderation.service.articles import ArticleCache
from moderation.service.threads import ThreadMemory
from moderation.store import Store, StoreUnavailable
from moderation.store.models import Article, ThreadEntry


def make_store(url):
    store = Store(url)
    store.upgrade()
    return store


@pytest.fixture
def memory_on():
    """Make thread memories over a store; each is closed after the test, as an app's shutdown closes its own."""
    made = []

    def make(store, **options) -> ThreadMemory:
        made.append(ThreadMemory(store, **options))
        return made[-1]
    yield make
    for memory in made:
        memory.close()


def test_two_processes_share_a_thread_through_the_store(memory_on, database_url):
    store = make_store(database_url)
    one = memory_on(store, keep=5, refresh_seconds=0, flush_seconds=60)
    two = memory_on(store, keep=5, refresh_seconds=0, flush_seconds=60)
    one.remember([("a", "1", "first"), ("a", "2", "second")])
    assert one.threads(["a"]) == {"a": [("1", "first"), ("2", "second")]}  # its own, before any write
    assert two.threads(["a"]) == {"a": []}
    one.flush()
    two.remember([("a", "3", "third")])
    # Each process lists comments in the order it learnt of them.
    assert two.threads(["a"]) == {"a": [("3", "third"), ("1", "first"), ("2", "second")]}
    two.flush()
    assert one.threads(["a"])["a"] == [("1", "first"), ("2", "second"), ("3", "third")]
    store.dispose()


def test_a_worker_sees_other_workers_comments_only_after_its_refresh_interval(memory_on, tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    writer = memory_on(store, keep=5, flush_seconds=0)
    reader = memory_on(store, keep=5, refresh_seconds=0.2)
    assert reader.threads(["a"]) == {"a": []}
    writer.remember([("a", "1", "first")])
    assert reader.threads(["a"]) == {"a": []}
    time.sleep(0.25)
    assert reader.threads(["a"]) == {"a": [("1", "first")]}


def test_threads_keep_the_newest_comments_and_the_store_stays_bounded(memory_on, tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    memory = memory_on(store, keep=3, refresh_seconds=0, flush_seconds=0)
    for i in range(20):
        memory.remember([("a", str(i), f"text {i}")])
    assert memory.threads(["a"]) == {"a": [("17", "text 17"), ("18", "text 18"), ("19", "text 19")]}
    fresh = memory_on(store, keep=3)
    assert fresh.threads(["a"]) == memory.threads(["a"])
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ThreadEntry)) <= 2 * 3


def test_a_comment_remembered_twice_appears_once_at_its_latest_place(memory_on, tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    memory = memory_on(store, keep=5, refresh_seconds=0, flush_seconds=0)
    memory.remember([("a", "1", "one"), ("a", "2", "two"), ("a", "1", "one again")])
    assert memory.threads(["a"]) == {"a": [("2", "two"), ("1", "one again")]}
    assert memory_on(store, keep=5).threads(["a"]) == {"a": [("2", "two"), ("1", "one again")]}


def test_entries_written_behind_reach_the_store_without_a_flush(memory_on, tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    memory = memory_on(store, keep=5, flush_seconds=0.01)
    memory.remember([("a", "1", "first")])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with store.session() as session:
            if session.scalar(select(func.count()).select_from(ThreadEntry)) == 1:
                break
        time.sleep(0.01)
    else:
        raise AssertionError("the entry never reached the store")


class Down:
    """A store whose every session fails as an unreachable database does."""

    def session(self):
        raise StoreUnavailable("connection refused")


def test_close_writes_what_is_pending_and_stops_the_writer(memory_on, tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    memory = memory_on(store, keep=5, flush_seconds=30)  # the writer would wait 30 s before writing
    memory.remember([("a", "1", "first")])
    writer = memory._writer
    time.sleep(0.2)  # the writer is gathering entries now, for 30 s unless closed
    started = time.monotonic()
    memory.close()
    assert time.monotonic() - started < 5 and not writer.is_alive()
    memory.remember([("a", "2", "second")])  # after close, written at once
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ThreadEntry)) == 2
    store.dispose()


def test_when_the_store_is_down_entries_wait_and_the_local_copy_still_serves(memory_on, tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    memory = memory_on(store, keep=5, refresh_seconds=0, flush_seconds=60)
    memory.remember([("a", "1", "first")])
    memory.store = Down()
    memory.flush()  # logged, kept
    memory.remember([("a", "2", "second")])
    assert memory.threads(["a", "b"]) == {"a": [("1", "first"), ("2", "second")], "b": []}
    assert memory.parents(["a", None], ["1", "x"]) == {"1": "first"}
    memory.store = store
    memory.flush()
    assert memory_on(store, keep=5).threads(["a"]) == {"a": [("1", "first"), ("2", "second")]}


def test_parents_come_from_the_thread_or_else_the_store(memory_on, tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    memory_on(store, keep=5, flush_seconds=0).remember([("a", "p1", "the parent"), ("b", "p2", "elsewhere")])
    memory = memory_on(store, keep=5)
    memory.threads(["a"])
    assert memory.parents(["a", "a"], ["p1", "p2"]) == {"p1": "the parent", "p2": "elsewhere"}


def test_article_cache_reads_once_per_ttl_and_forgets_on_demand(tmp_path):
    store = make_store(f"sqlite:///{tmp_path / 's.db'}")
    with store.session() as session:
        session.add(Article(id="a", title="Bridge", body="Reopens", policy={"toxic": {"review": 0.1}}))
    cache = ArticleCache(store, ttl_seconds=60)
    assert cache.get_many(["a", "nope"]) == {"a": ("Bridge\nReopens", {"toxic": {"review": 0.1}}, None)}
    with store.session() as session:
        session.get(Article, "a").title = "Tunnel"
        session.add(Article(id="nope", title="Now known"))
    assert cache.get_many(["a", "nope"]) == {"a": ("Bridge\nReopens", {"toxic": {"review": 0.1}}, None)}  # cached
    cache.forget("a")
    cache.forget("nope")
    assert cache.get_many(["a", "nope"]) == {"a": ("Tunnel\nReopens", {"toxic": {"review": 0.1}}, None),
                                            "nope": ("Now known", None, None)}
    assert ArticleCache(store, ttl_seconds=0).get_many(["a"]) == {"a": ("Tunnel\nReopens", {"toxic": {"review": 0.1}}, None)}


def test_an_article_put_on_this_worker_applies_to_its_next_comment(client, auth):
    def off_topic(text):
        body = client.post("/v1/moderate", headers=auth, json={"comment": {
            "id": text, "text": "The deck repairs on the bridge took far too long.", "article_id": "x"}})
        return body.get_json()["results"][0]["scores"]["off_topic"]

    client.put("/v1/articles/x", json={"title": "Cake recipes", "body": "Flour, sugar and eggs."}, headers=auth)
    before = off_topic("c1")
    client.put("/v1/articles/x", json={"title": "Bridge reopens", "body": "The bridge deck repairs are done."},
               headers=auth)
    assert off_topic("c2") < before


def test_a_retried_comment_is_not_its_own_thread_context(client, auth):
    comment = {"id": "r1", "text": "The deck repairs on the bridge took far too long.", "article_id": "y"}
    client.put("/v1/articles/y", json={"title": "Cake recipes", "body": "Flour, sugar and eggs."}, headers=auth)
    first = client.post("/v1/moderate", headers=auth, json={"comment": comment}).get_json()["results"][0]
    again = client.post("/v1/moderate", headers=auth, json={"comment": comment}).get_json()["results"][0]
    assert again["scores"] == first["scores"]

"""Faults: the database going away (through a real TCP proxy we cut), a model write failing half-way."""
import errno
import socket
import threading

import pytest

from moderation.runtime.artifact import ArtifactError, Registry
from moderation.service import keys
from moderation.web.app import shutdown


class Proxy:
    """A TCP relay to PostgreSQL that can be cut and restored, like a database host going away."""

    def __init__(self, target=("127.0.0.1", 5432)):
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(64)
        self.up = True
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self):
        self.up = False
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            except OSError:
                pass
        self.connections.clear()

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        self.listener.close()


@pytest.fixture
def proxied(postgres_url):
    """An empty PostgreSQL database behind a Proxy; yields (URL through the proxy, proxy)."""
    from sqlalchemy import create_engine, text
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    proxy = Proxy()
    yield postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"), proxy
    proxy.close()


@pytest.fixture
def outage(app_factory, proxied):
    url, proxy = proxied
    app = app_factory(DATABASE_URL=url, LANGUAGE_DETECTION=False)
    secret, _ = keys.create(app.extensions["moderation.store"], "k", ["score", "review"])
    yield app, {"X-API-Key": secret}, proxy
    proxy.restore()
    shutdown(app)  # while the database is reachable, so that the app writes the thread memory it holds


HELD = {"comment": {"id": "held-1", "text": "Whoever runs the library is a pathetic idiot.", "article_id": "a"}}
FINE = {"comment": {"id": "fine-1", "text": "Lending laptops is a smart use of the library budget.",
                    "article_id": "a"}}


def test_database_outage_keeps_scoring_refuses_to_acknowledge_and_recovers(outage):
    app, headers, proxy = outage
    client = app.test_client()
    assert client.post("/v1/moderate", json=FINE, headers=headers).status_code == 200  # key now known
    assert client.get("/readyz").status_code == 200

    proxy.cut()
    fine = client.post("/v1/moderate", json=FINE | {"comment": {**FINE["comment"], "id": "fine-2"}}, headers=headers)
    assert fine.status_code == 200 and fine.get_json()["results"][0]["decision"] == "approve"
    held = client.post("/v1/moderate", json=HELD, headers=headers)
    assert held.status_code == 503 and held.mimetype == "application/problem+json"
    assert held.headers["Retry-After"]
    assert client.get("/readyz").status_code == 503
    unknown_key = client.post("/v1/moderate", json=FINE, headers={"X-API-Key": "mk_deadbeef_nope"})
    assert unknown_key.status_code == 503  # cannot tell a bad key from a good one without the store

    proxy.restore()
    assert client.get("/readyz").status_code == 200
    stored = client.post("/v1/moderate", json=HELD, headers=headers)
    assert stored.status_code == 200
    assert client.get("/v1/comments/held-1", headers=headers).status_code == 200


def test_database_outage_with_authors_and_word_lists(app_factory, proxied):
    """An approved comment's author count is lost, not its answer; a newcomer's comment cannot be held, so is
    not acknowledged; word lists already read keep applying."""
    url, proxy = proxied
    app = app_factory(DATABASE_URL=url, LANGUAGE_DETECTION=False, ARTICLE_CACHE_SECONDS=0)
    ruled = app_factory(DATABASE_URL=url, LANGUAGE_DETECTION=False, AUTHOR_POLICY={"hold_first": 1})
    try:
        headers = {"X-API-Key": keys.create(app.extensions["moderation.store"], "k", ["score", "admin"])[0]}
        client, ruled_client = app.test_client(), ruled.test_client()
        assert client.put("/v1/wordlists/w", headers=headers, json={"entries": [
            {"text": "laptops", "action": "reject"}]}).status_code == 201
        with_author = {"comment": {**FINE["comment"], "author_id": "u1"}}
        assert client.post("/v1/moderate", json=with_author, headers=headers).status_code == 200  # key now known
        assert ruled_client.post("/v1/moderate", json=FINE, headers=headers).status_code == 200

        proxy.cut()
        for number in range(2):  # the word list stays: the worker could not see whether it changed
            comment = {"comment": {"id": f"plain-{number}", "text": "Evening hours will help students.",
                                   "author_id": "u1"}}
            answer = client.post("/v1/moderate", json=comment, headers=headers)
            assert answer.status_code == 200 and answer.get_json()["results"][0]["decision"] == "approve"
        listed = client.post("/v1/moderate", json={"comment": {**with_author["comment"], "id": "listed"}},
                             headers=headers)
        assert listed.status_code == 503  # the word list rejects it, and a rejection must be stored
        newcomer = ruled_client.post("/v1/moderate", headers=headers, json={"comment": {
            "id": "new-1", "text": "Evening hours will help students.", "author_id": "u9"}})
        assert newcomer.status_code == 503 and newcomer.headers["Retry-After"]  # held as a newcomer: not kept
        proxy.restore()
        assert ruled_client.post("/v1/moderate", json=with_author, headers=headers).get_json()[
            "results"][0]["reasons"][0]["rule"] == "wordlist"
    finally:
        proxy.restore()
        shutdown(app)
        shutdown(ruled)


def test_disk_full_while_writing_a_model_leaves_no_version(tiny_registry, tmp_path, monkeypatch):
    from moderation.runtime.artifact import load

    artifact = load(tiny_registry.path(tiny_registry.current()))
    registry = Registry(tmp_path / "models")

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("moderation.runtime.artifact.joblib.dump", full_disk)
    with pytest.raises(OSError, match="No space left"):
        registry.save(artifact.pipeline, {"labels": artifact.labels, "thresholds": artifact.thresholds})
    assert registry.versions() == [] and list(registry.root.iterdir()) == []
    assert registry.current() is None
    with pytest.raises(ArtifactError):
        registry.load_current()

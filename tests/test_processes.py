"""Several real service processes on one PostgreSQL database, and a process killed mid-stream.

Each server is a gunicorn process started from the command line, as in production.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from moderation.review import queue
from moderation.service import keys
from moderation.store import Store

pytestmark = pytest.mark.subprocess


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, key=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json", "X-API-Key": key or ""})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class Server:
    def __init__(self, env, tmp_path, name):
        self.port = _free_port()
        self.log = open(tmp_path / f"{name}.log", "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "4", "--bind", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "2", "moderation.web.app:create_app()"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if call(self.port, "GET", "/readyz", timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"server {name} did not become ready; see {tmp_path / (name + '.log')}")

    def kill(self):
        """SIGKILL the master and its worker at once: the instance dies mid-request."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


@pytest.fixture
def cluster(postgres_url, tiny_registry, tmp_path):
    from sqlalchemy import create_engine, text
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    store = Store(postgres_url)
    store.upgrade()
    key, _ = keys.create(store, "cluster", ["score", "review"])
    env = {**os.environ, "MODERATION_HOME": str(tmp_path), "MODERATION_DATABASE_URL": postgres_url,
           "MODERATION_MODELS_DIR": str(tiny_registry.root), "MODERATION_STORE_COMMENTS": "all",
           "MODERATION_LANGUAGE_DETECTION": "false", "MODERATION_MODEL_POLL_SECONDS": "0"}
    servers = [Server(env, tmp_path, "one"), Server(env, tmp_path, "two")]
    yield servers, key, store
    for server in servers:
        server.stop()
    store.dispose()


def test_two_processes_share_one_consistent_queue(cluster):
    (one, two), key, store = cluster
    assert call(one.port, "POST", "/v1/moderate", {"comment": {"id": "p1", "text": "You clueless idiot."}}, key)[0] == 200
    status, body = call(two.port, "GET", "/v1/comments/p1", key=key)
    assert status == 200 and body["status"] in ("pending", "rejected", "approved")
    assert call(two.port, "POST", "/v1/comments/p1/decision", {"decision": "approve", "version": 1}, key)[0] == 200
    assert call(one.port, "GET", "/v1/comments/p1", key=key)[1]["status"] == "approved"

    call(one.port, "POST", "/v1/moderate", {"comment": {"id": "p2", "text": "Stupid idea, you idiot."}}, key)
    results = []
    barrier = threading.Barrier(8)

    def decide(port, decision):
        barrier.wait()
        results.append(call(port, "POST", "/v1/comments/p2/decision", {"decision": decision, "version": 1}, key)[0])

    workers = [threading.Thread(target=decide, args=(server.port, d)) for server in (one, two)
               for d in ("approve", "reject") * 2]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(results) == [200] + [409] * 7
    body = call(one.port, "GET", "/v1/comments/p2", key=key)[1]
    assert len(body["history"]) == 8 and [h["outcome"] for h in body["history"]].count("applied") == 1
    assert body == call(two.port, "GET", "/v1/comments/p2", key=key)[1]


def test_killing_a_process_loses_no_acknowledged_comment_or_decision(cluster):
    (one, two), key, store = cluster
    acknowledged_comments, acknowledged_decisions = [], []
    stop = threading.Event()

    def stream(server, prefix):
        i = 0
        while not stop.is_set():
            i += 1
            cid = f"{prefix}-{i}"
            try:
                status, _ = call(server.port, "POST", "/v1/moderate",
                                 {"comment": {"id": cid, "text": f"You idiot number {i}", "article_id": "k"}}, key, 5)
                if status == 200:
                    acknowledged_comments.append(cid)
                    status, _ = call(server.port, "POST", f"/v1/comments/{cid}/decision", {"decision": "reject"}, key, 5)
                    if status == 200:
                        acknowledged_decisions.append(cid)
            except (OSError, http.client.HTTPException):  # the server died mid-request: not acknowledged
                if server.process.poll() is not None:
                    return
                time.sleep(0.01)

    threads = [threading.Thread(target=stream, args=(server, f"{name}{t}"))
               for server, name in ((one, "a"), (two, "b")) for t in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    one.kill()  # SIGKILL in the middle of the stream
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join()
    assert any(c.startswith("a") for c in acknowledged_comments) and any(c.startswith("b") for c in acknowledged_comments)
    stored = queue.existing(store, acknowledged_comments)
    assert set(stored) == set(acknowledged_comments)
    for cid in acknowledged_decisions:
        comment, history = queue.get(store, cid)
        assert comment.status == "rejected" and [h.outcome for h in history] == ["applied"]
    assert call(two.port, "GET", "/readyz")[0] == 200

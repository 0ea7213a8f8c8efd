"""The production commands (granian via `moderation serve`, and gunicorn): two workers, metrics added up across
them, JSON logs, no secret or comment text in them."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from moderation.service import keys
from moderation.store import Store

pytestmark = pytest.mark.subprocess

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _call(url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, object, bytes]:
    """Status, headers (case-insensitive: granian sends names in lower case) and body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


COMMANDS = {
    "granian": [str(Path(sys.executable).parent / "moderation"), "serve"],
    "gunicorn": [sys.executable, "-m", "gunicorn", "-c", "python:moderation.gunicorn_conf", "moderation.web.app:create_app()"],
}
OWN_LOGGER = {"granian": "_granian", "gunicorn": "gunicorn.error"}


@contextlib.contextmanager
def _serving(command: list[str], tmp_path: Path, database: str, models_dir: Path, **env: str):
    """Start a production command with two workers on a free port, wait for /readyz; yields (base URL, log file)."""
    port = _free_port()
    env = {**os.environ, "MODERATION_HOME": str(tmp_path), "MODERATION_DATABASE_URL": database,
           "MODERATION_MODELS_DIR": str(models_dir), "MODERATION_BIND": f"127.0.0.1:{port}",
           "MODERATION_WORKERS": "2", "MODERATION_THREADS": "2",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), **env}
    log = tmp_path / "server.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if _call(url + "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield url, log
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=40)


@pytest.fixture(params=sorted(COMMANDS))
def server(request, tmp_path, tiny_registry):
    """A production command on a free port and a new database; yields (name, base URL, API key, log file)."""
    database = f"sqlite:///{tmp_path / 'service.db'}"
    with _serving(COMMANDS[request.param], tmp_path, database, tiny_registry.root) as (url, log):
        store = Store(database)  # the schema is there: the master migrated it before the workers started
        secret, _ = keys.create(store, "server-test", ["score"])
        store.dispose()
        yield request.param, url, secret, log


def test_metrics_add_up_across_workers_and_logs_are_json(server):
    name, url, secret, log = server
    comment = {"comment": {"id": "c1", "text": "Shut up, you clueless idiot, nobody asked you."}}
    for number in range(12):
        status, headers, _ = _call(url + "/v1/moderate", comment, {"Authorization": f"Bearer {secret}",
                                                                   "X-Request-ID": f"server-{number}"})
        assert status == 200 and headers["X-Request-ID"] == f"server-{number}"

    # Each scrape reaches one worker or the other; every one of them must report the sum over both.
    for _ in range(6):
        status, headers, body = _call(url + "/metrics")
        assert status == 200, body.decode(errors="replace") + log.read_text()[-4000:]
        lines = body.decode().splitlines()
        assert 'moderation_http_requests_total{endpoint="/v1/moderate",method="POST",status="200"} 12.0' in lines
        assert "moderation_comments_scored_total 12.0" in lines
    time.sleep(0.3)

    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    access = [r for r in records if r["logger"] == "moderation.access" and r["path"] == "/v1/moderate"]
    assert sorted(r["request_id"] for r in access) == sorted(f"server-{n}" for n in range(12))
    assert all(r["status"] == 200 and r["method"] == "POST" and isinstance(r["api_key_id"], int) for r in access)
    assert any(r["logger"] == OWN_LOGGER[name] for r in records)  # the server's own lines are JSON too
    assert [r for r in records if r["level"] in ("ERROR", "CRITICAL")] == []  # both workers booted and stayed
    text = log.read_text()
    assert secret not in text and "clueless idiot" not in text

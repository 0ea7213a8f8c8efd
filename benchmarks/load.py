"""Load test of the production server: ``moderation serve`` (granian) with 2 workers, driven over HTTP.

Starts ``moderation serve`` (or, with ``--server gunicorn``, the gunicorn command) on a free local port with
a temporary ``MODERATION_HOME`` (the default model trained there, or copied from ``--models``) and a key made
with ``moderation keys create``, registers an article, then measures ``POST /v1/moderate`` with one comment
and with batches of 20:

* at a fixed rate (200 requests/s for 30 s; 50 for a model with the semantic tier), open loop
  (``benchmarks.openloop``; Debian has no wrk2), for p50/p99 latency measured from each request's due time;
* at saturation (wrk, closed loop, 30 s), for requests/s and p50/p99.

Optionally (``--profile``) samples one worker with py-spy while wrk saturates the single-comment path. With
``--rules`` every comment has an author, the author rules are on (``RULES_POLICY``) and a 10,000-entry word
list is stored; the in-process CPU table then has those rows beside the plain ones (``--cpu-only``: only
that table, no server and no wrk). Run from the repository root (wrk: ``make bench-deps``)::

    python -m benchmarks.load [--models DIR] [--duration 30] [--rate 200] [--profile] [--rules] [--cpu-only]

Writes ``benchmarks/results/load.json`` and ``load.md`` and prints the table.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from moderation.model.encoder import encoder_enabled
from moderation.server import DEFAULT_THREADS, DEFAULT_WORKERS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ARTICLE_ID = "load-bridge"
ARTICLE = {"title": "Mill Road bridge reopens after eight months of repairs",
           "body": "The river bridge on Mill Road reopens to traffic on Monday after eight months of work on its "
                   "steel deck and railings. The $4.2 million repair was funded by the city and a provincial "
                   "grant. Buses return to route 12 the same day; a painted cycle lane runs on both sides, and "
                   "weight limits for trucks stay in place until the load test in the spring."}
# Comments written for this benchmark: mostly ordinary, some rude, some off topic, short and long.
COMMENTS = [
    "Finally! The detour through Elm Street added twenty minutes to my commute every single day.",
    "Eight months for a bridge deck seems slow, but I'm glad it's done before winter.",
    "Will the cycle lane be protected or is it just paint again? Paint doesn't stop trucks.",
    "Good to see route 12 back. My mother relies on that bus to get to her appointments.",
    "$4.2 million for railings and a deck. Who checks these contracts?",
    "The crews worked nights all summer and kept the noise down. Credit where it's due.",
    "Anyone know if the sidewalk on the north side is open too?",
    "You'd have to be an idiot to believe this bridge is safe after one load test.",
    "The council are a bunch of clueless morons who couldn't fix a bicycle.",
    "Shut up already, nobody cares about your cycle lane.",
    "Buy cheap sunglasses at my online shop, discount code BRIDGE50!",
    "Does anyone know a good dentist downtown? Mine just retired.",
    "My cat knocked the christmas tree over again lol",
    "What time does the football match start tonight?",
    "I walked across it this morning. Smooth surface, new lights, feels much safer than before.",
    "Weight limits until spring means the gravel trucks keep going through our neighbourhood. Not happy.",
    "Thanks to the reporter for including the cost breakdown, that's rare these days.",
    "This is what happens when you defer maintenance for thirty years. We paid for it twice.",
    "Pathetic. Absolutely pathetic work from a pathetic city.",
    "The old bridge had character. The new railings look like a parking garage.",
    "Is the load test open to the public? My kids would love to watch the trucks.",
    "If you think this is slow, try getting a permit for a fence in this town.",
    "Drivers who speed over that bridge should lose their licence, simple as that.",
    "Go back to where you came from if you don't like how we do things here.",
    "I hope whoever approved that budget gets what's coming to them.",
    "Great news for the shops on Mill Road, they lost half their customers during the closure.",
    "Not sure why the grant isn't mentioned in the council minutes. Can someone explain?",
    "Lovely photo of the river at sunset in the print edition.",
    "The cycle lane ends right at the busiest junction. Whoever designed that has never ridden a bike.",
    "Earn $500 a day from home, message me for details!!!",
    "Glad they kept the old lamp posts, they were restored rather than replaced.",
    "Total waste of money, should have built a tunnel instead.",
    "This comment section is full of whiners. Just be happy it's open.",
    "As someone who works in bridge inspection: eight months for a full deck replacement is normal.",
    "Will there be a ribbon cutting? I'd like to bring my grandfather, he helped build the original.",
    "Screw the council and screw this bridge.",
    "Does the bus timetable change or is it the same as before the closure?",
    "The article says spring for the load test but the city website says summer. Which is it?",
    "Honestly the best thing the city has done in years.",
    "I'll believe it's finished when the orange cones are gone.",
]
BATCH_SIZE = 20
# Issue 13's targets per model tier (MODERATION_ENCODER): single-comment p99 at a fixed rate, req/s at saturation.
TARGETS = {"lexical": {"rate": 200, "p99_ms": 10, "per_s": 1000},
           "semantic": {"rate": 50, "p99_ms": 50, "per_s": 100}}
WRK_SCRIPT = """-- %(method)s %(path)s with the bodies below in turn (none: no body), each comment id made unique by
-- replacing __N__ (the service answers a comment id it has stored from the store); done() prints a JSON line.
local bodies = {
%(bodies)s
}
local sent = 0
local made = 0
local run = "%(run)s-" .. os.time()
wrk.method = "%(method)s"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"

setup = function(thread)
  made = made + 1
  thread:set("tid", made)
end

request = function()
  sent = sent + 1
  if #bodies == 0 then
    return wrk.format(nil, "%(path)s")
  end
  local body = (bodies[(sent %% #bodies) + 1]:gsub("__N__", run .. "-" .. tid .. "-" .. sent))
  return wrk.format(nil, "%(path)s", nil, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%%d,"duration_us":%%d,"errors":{"connect":%%d,"read":%%d,' ..
    '"write":%%d,"status":%%d,"timeout":%%d},"latency_us":{"p50":%%d,"p90":%%d,"p99":%%d,"p99.9":%%d,' ..
    '"max":%%d,"mean":%%.1f}}\\n', summary.requests, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
"""


SCENARIOS = ("single-rate", "batch-rate", "single", "batch", "contextless", "healthz")

# Comment ids end in __N__, which the load generators replace with a number of their own per request: a
# comment id the service has stored (it keeps held ones for review) is answered from the store, not scored.
# Texts end in it too: a worker keeps the embeddings of texts it has seen, and 40 fixed texts would all be cached.
UNIQUE = "__N__"


# --rules: the author rules of the README's example, and a word list of 10,000 entries (benchmarks/wordlists.py).
RULES_POLICY = {"hold_first": 3, "max_rejected_share": 0.5, "window": 20, "trusted_after": 50}
AUTHORS = 40  # comments cycle through this many authors


def rules_wordlist() -> dict:
    from .wordlists import _entries

    return {"entries": [{"text": entry, "action": "review", "reason": "BENCH"} for entry in _entries("rare", [])]}


def with_authors(bodies: list[str]) -> list[str]:
    """The same bodies with an author on every comment."""
    changed = []
    for number, body in enumerate(bodies):
        data = json.loads(body)
        for k, comment in enumerate(data.get("comments") or [data["comment"]]):
            comment["author_id"] = f"author-{(number + k) % AUTHORS}"
        changed.append(json.dumps(data, ensure_ascii=False))
    return changed


def _unique(text: str) -> str:
    """The comment's text made unique per request (the generators replace __N__), so that it must be encoded."""
    return f"{text} [{UNIQUE}]"


def single_bodies() -> list[str]:
    return [json.dumps({"comment": {"id": f"s{i}-{UNIQUE}", "text": _unique(text), "article_id": ARTICLE_ID}},
                       ensure_ascii=False) for i, text in enumerate(COMMENTS)]


def contextless_bodies() -> list[str]:
    """Single comments with no article and not remembered: no thread context to read or write."""
    return [json.dumps({"comment": {"id": f"n{i}-{UNIQUE}", "text": _unique(text)}, "remember": False},
                       ensure_ascii=False)
            for i, text in enumerate(COMMENTS)]


def batch_bodies() -> list[str]:
    bodies = []
    for start in range(0, len(COMMENTS), 5):
        chosen = [COMMENTS[(start + k) % len(COMMENTS)] for k in range(BATCH_SIZE)]
        bodies.append(json.dumps({"comments": [{"id": f"b{start}-{k}-{UNIQUE}", "text": _unique(text),
                                                "article_id": ARTICLE_ID}
                                               for k, text in enumerate(chosen)]}, ensure_ascii=False))
    return bodies


def _tool(name: str) -> str:
    """A console script of this environment (next to the interpreter), else from PATH."""
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install it (make bench-deps)")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _http(method: str, url: str, body: dict | None = None, key: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


COMMANDS = {
    "granian": ["moderation", "serve"],  # the production command (moderation/server.py)
    "gunicorn": [sys.executable, "-m", "gunicorn", "-c", "python:moderation.gunicorn_conf", "moderation.web.app:create_app()"],
}


class Server:
    """A production command on a free port, in a temporary MODERATION_HOME."""

    def __init__(self, home: Path, workers: int, threads: int | None, kind: str = "granian"):
        self.kind = kind
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "MODERATION_HOME": str(home), "MODERATION_BIND": f"127.0.0.1:{self.port}",
                    "MODERATION_WORKERS": str(workers), "PROMETHEUS_MULTIPROC_DIR": str(home / "metrics"),
                    # One key sends everything here: the per-key rate limit would measure itself, not the service.
                    "MODERATION_RATE_LIMIT": ""}
        if threads:
            self.env["MODERATION_THREADS"] = str(threads)
        self.log = home / "server.log"
        self.process: subprocess.Popen | None = None

    def create_key(self, scopes: str = "score") -> str:
        done = subprocess.run([_tool("moderation"), "keys", "create", "--name", "load-benchmark", "--scopes", scopes],
                              env=self.env, capture_output=True, text=True, check=True)
        return done.stdout.strip().splitlines()[-1]

    def start(self, timeout: float = 90) -> None:
        with open(self.log, "w") as log:
            command = COMMANDS[self.kind]
            command = [_tool(command[0]), *command[1:]] if command[0] == "moderation" else command
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.kind} exited ({self.process.returncode}); see {self.log}")
            try:
                if _http("GET", self.url + "/readyz")[0] == 200 and len(self.worker_pids()) >= 1:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"the server was not ready within {timeout:.0f} s; see {self.log}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def settle(self, timeout: float = 60, window: float = 0.5, busy_share: float = 0.02) -> float:
        """Wait until the workers are idle (under 2 % of a core over half a second); the seconds it took.

        An overloading scenario leaves requests queued in the server after its client gives up: without
        this, the next scenario would share the cores with them.
        """
        started = time.monotonic()
        ticks = os.sysconf("SC_CLK_TCK")
        last = self._cpu_ticks()
        while time.monotonic() - started < timeout:
            time.sleep(window)
            now = self._cpu_ticks()
            if (now - last) / ticks < busy_share * window:
                break
            last = now
        return round(time.monotonic() - started, 1)

    def _cpu_ticks(self) -> int:
        """User and system CPU ticks of the server and its workers so far."""
        total = 0
        for pid in [self.process.pid, *self.worker_pids()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:  # a worker that just exited
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
        return total

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def prepare_home(home: Path, models: Path | None) -> None:
    """The default model trained into ``home/models``, or an existing registry copied there."""
    if models is not None:
        shutil.copytree(models, home / "models", symlinks=True)
        return
    subprocess.run([_tool("moderation"), "train"], env={**os.environ, "MODERATION_HOME": str(home)}, check=True,
                   stdout=subprocess.DEVNULL)


def server_histogram(url: str) -> dict[str, float]:
    """Count and sum of the server's own latency histogram for /v1/moderate (all workers, via /metrics)."""
    _, text = _http("GET", url + "/metrics")
    values = {}
    for name in ("count", "sum"):
        match = re.search(rf'^moderation_http_request_duration_seconds_{name}{{endpoint="/v1/moderate"}} (\S+)$',
                          text.decode(), re.M)
        values[name] = float(match.group(1)) if match else 0.0
    return values


def _server_mean_ms(before: dict, after: dict) -> float | None:
    count = after["count"] - before["count"]
    return round((after["sum"] - before["sum"]) / count * 1000, 2) if count else None


def fixed_rate(server: Server, key: str, bodies_file: Path, rate: float, duration: float) -> dict:
    before, load = server_histogram(server.url), os.getloadavg()[0]
    done = subprocess.run([sys.executable, "-m", "benchmarks.openloop", "--url", server.url + "/v1/moderate",
                           "--bodies", str(bodies_file), "--header", f"Authorization: Bearer {key}",
                           "--rate", str(rate), "--duration", str(duration), "--run", bodies_file.stem],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    result = json.loads(done.stdout)
    result["server_mean_ms"] = _server_mean_ms(before, server_histogram(server.url))
    result["load_average_1m"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    return result


def saturation(server: Server, script: Path, duration: float, connections: int, threads: int) -> dict:
    before, load = server_histogram(server.url), os.getloadavg()[0]
    done = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", "--timeout", "10s",
                           "-s", str(script), server.url], capture_output=True, text=True, check=True)
    line = next(line for line in done.stdout.splitlines() if line.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    return {"connections": connections, "wrk_threads": threads, "duration_s": round(seconds, 1),
            "requests": raw["requests"], "requests_per_s": round(raw["requests"] / seconds, 1),
            "errors": {k: v for k, v in raw["errors"].items() if v},
            "latency_ms": {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()},
            "server_mean_ms": _server_mean_ms(before, server_histogram(server.url)),
            "load_average_1m": [round(load, 2), round(os.getloadavg()[0], 2)]}


def profile(server: Server, script: Path, seconds: int, connections: int, out: Path) -> dict:
    """py-spy samples of one worker while wrk saturates the server; the share of each stage of a request."""
    pid = server.worker_pids()[0]
    load = subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds + 4}s", "-s", str(script), server.url],
                            stdout=subprocess.DEVNULL)
    try:
        time.sleep(2)
        # --gil: only the thread holding the GIL, i.e. where the worker's one core of Python goes.
        subprocess.run([_tool("py-spy"), "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250",
                        "--gil", "--format", "raw", "--nolineno", "--output", str(out)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        load.wait()
    return summarise_profile(out)


# Stages of a request, each named by frames only it runs, most specific first: a sample goes to the first
# stage with a frame on its stack (the explanations' featurisation to the explanations, the view's key check
# to the key check rather than to everything it wraps); samples in none of them are "other".
STAGES = [
    ("request log line (moderation.web.request_log)", ("moderation/web/request_log.py",)),
    ("metrics hooks (prometheus_client)", ("moderation/web/api/metrics.py", "prometheus_client/")),
    ("rate limiter (Flask-Limiter)", ("flask_limiter/", "limits/")),
    ("API key check", ("KeyVerifier.verify",)),
    ("body: JSON decode + pydantic validation", ("json_body (", "parse (moderation/web/api/schemas.py)")),
    ("store: already-stored lookup", ("existing (moderation/review/queue.py",)),
    ("store: articles and thread memory (caches, writes behind)", ("moderation/service/articles.py", "moderation/service/threads.py")),
    ("context assembly", ("Moderation._contexts (",)),
    ("store: keep held comments for review", ("Moderation._write (",)),
    ("language check", ("LanguageIdentifier.",)),
    ("model: explanations (n-gram contributions)", ("Scorer._explain (",)),
    ("model: features + predict_proba", ("Scorer.predict (",)),
    ("decision policy + result shaping", ("Scorer.moderate (", "Policy.")),
    ("response JSON (jsonify)", ("jsonify (",)),
    ("Flask/Werkzeug request handling", ("flask/", "werkzeug/")),
    ("server: HTTP parse/write, event loop", ("gunicorn/", "granian/")),
]


def summarise_profile(path: Path) -> dict:
    """Share of GIL-holding samples per stage, and the share under SQLAlchemy in any stage."""
    totals, samples, sql = Counter(), 0, 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        count = int(count)
        samples += count
        sql += count if "sqlalchemy/" in stack else 0
        totals[_stage(stack)] += count
    order = [label for label, _ in STAGES] + ["other"]
    return {"samples": samples, "stages_percent": {label: round(100 * totals[label] / samples, 1)
                                                   for label in order if samples},
            "sqlalchemy_percent": round(100 * sql / samples, 1) if samples else None}


def _stage(stack: str) -> str:
    return next((label for label, needles in STAGES if any(needle in stack for needle in needles)), "other")


def cpu_per_request(home: Path, rounds: int = 300, rules: bool = False) -> dict[str, float]:
    """CPU milliseconds per request in this process (Flask test client, no HTTP server), for each variant; with
    ``rules``, also with authors, the author rules and a 10,000-entry word list, in an app of its own.

    CPU time, unlike latency, hardly moves when other processes share the machine, so these say what a
    request costs; cores x 1000 / cost bounds the requests per second, before HTTP parsing.
    """
    from moderation.service import keys
    from moderation.web.app import create_app, shutdown
    from moderation.model.comment import Comment
    from moderation.web.request_log import JsonFormatter

    # Request lines formatted and written as the server does, to nowhere rather than this terminal.
    sink = logging.StreamHandler(open(os.devnull, "w"))
    sink.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(sink)
    app = create_app({"DATABASE_URL": f"sqlite:///{home / 'cpu.db'}", "MODELS_DIR": str(home / "models"),
                      "MODEL_POLL_SECONDS": 0, "RATE_LIMIT": "", "SECRET_KEY": "load-benchmark"})
    client = app.test_client()
    secret, _ = keys.create(app.extensions["moderation.store"], "cpu", ["score"])
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    client.put(f"/v1/articles/{ARTICLE_ID}", json=ARTICLE, headers=headers)
    ruled = None
    if rules:
        ruled = create_app({"DATABASE_URL": f"sqlite:///{home / 'cpu-rules.db'}", "MODELS_DIR": str(home / "models"),
                            "MODEL_POLL_SECONDS": 0, "RATE_LIMIT": "", "AUTHOR_POLICY": RULES_POLICY})
        admin, _ = keys.create(ruled.extensions["moderation.store"], "cpu", ["score", "admin"])
        ruled_client, ruled_headers = ruled.test_client(), {"Authorization": f"Bearer {admin}"}
        ruled_client.put(f"/v1/articles/{ARTICLE_ID}", json=ARTICLE, headers=ruled_headers)
        assert ruled_client.put("/v1/wordlists/bench", json=rules_wordlist(), headers=ruled_headers).status_code == 201

    def measure(name: str, bodies: list[str], count: int, on=None, **overrides) -> float:
        on_client, on_headers = on or (client, headers)
        sent = [json.dumps({**json.loads(bodies[i % len(bodies)].replace(UNIQUE, f"{name}-{i}")), **overrides})
                for i in range(count + 20)]
        for body in sent[:20]:  # warm up, and fill the article's thread
            on_client.post("/v1/moderate", data=body, headers={**on_headers, "Content-Type": "application/json"})
        started = time.process_time()
        for body in sent[20:]:
            assert on_client.post("/v1/moderate", data=body,
                                  headers={**on_headers, "Content-Type": "application/json"}).status_code == 200
        return round((time.process_time() - started) * 1000 / count, 2)

    scorer = app.extensions["moderation.model"].scorer
    thread = tuple(COMMENTS)

    def model_only(explain: bool) -> float:
        started = time.process_time()
        for i in range(rounds):
            scorer.moderate([Comment(COMMENTS[i % len(COMMENTS)], ARTICLE["body"], thread, None)], explain=explain)
        return round((time.process_time() - started) * 1000 / rounds, 2)

    def healthz() -> float:
        started = time.process_time()
        for _ in range(rounds):
            client.get("/healthz")
        return round((time.process_time() - started) * 1000 / rounds, 2)

    try:
        with_rules = {} if ruled is None else {
            "single, authors + author rules + 10,000-entry word list": measure(
                "rules-single", with_authors(single_bodies()), rounds, on=(ruled_client, ruled_headers)),
            "batch of 20, authors + author rules + 10,000-entry word list": measure(
                "rules-batch", with_authors(batch_bodies()), max(rounds // 10, 10), on=(ruled_client, ruled_headers))}
        return {"single (as in the load test)": measure("single", single_bodies(), rounds),
                "single, explain=false": measure("noexplain", single_bodies(), rounds, explain=False),
                "single, no thread context": measure("contextless", contextless_bodies(), rounds),
                "single, no thread context, explain=false": measure("bare", contextless_bodies(), rounds,
                                                                    explain=False),
                "batch of 20 (as in the load test)": measure("batch", batch_bodies(), max(rounds // 10, 10)),
                "model alone, 1 comment with article + 40-comment thread": model_only(False),
                "model alone, same, with explanations": model_only(True),
                "GET /healthz (framework and hooks)": healthz(), **with_rules}
    finally:
        shutdown(app)
        if ruled is not None:
            shutdown(ruled)
        logging.getLogger().removeHandler(sink)
        sink.stream.close()


def _write_lua(path: Path, bodies: list[str], key: str, method: str = "POST", target: str = "/v1/moderate") -> None:
    quoted = ",\n".join(f"  [==[{body}]==]" for body in bodies)
    path.write_text(WRK_SCRIPT % {"bodies": quoted, "key": key, "method": method, "path": target,
                                  "run": path.stem}, encoding="utf-8")


def _machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]}


def markdown(result: dict) -> str:
    lines = [f"# Load test: {result['server']['kind']}, {result['server']['workers']} workers, `POST /v1/moderate`", "",
             f"Machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']}; client and server "
             f"share it. Model {result['model_version']}. Server: `{result['server']['command']}` "
             f"({result['server']['workers']} workers × {result['server']['threads']} threads).", "",
             "| scenario | load | req/s answered (2xx) | comments/s | p50 ms | p99 ms | p99.9 ms | errors | server mean ms "
             "| load avg before → after | settled s |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|---|---:|"]
    for name, row in result["scenarios"].items():
        per_request = BATCH_SIZE if "batch" in name else 0 if "healthz" in name else 1
        rate = row["ok_per_s"] if "ok_per_s" in row else row["requests_per_s"]
        load = f"{row['rate']:.0f} req/s open loop" if "rate" in row else f"wrk, {row['connections']} connections"
        lines.append(f"| {name} | {load} | {rate:.0f} | {rate * per_request:.0f} | {row['latency_ms']['p50']} | "
                     f"{row['latency_ms']['p99']} | {row['latency_ms']['p99.9']} | {row['errors'] or 'none'} | "
                     f"{row['server_mean_ms']} | {row['load_average_1m'][0]} → {row['load_average_1m'][1]} | "
                     f"{row['settled_after_s']} |")
    lines += ["", "Each single comment names the registered article (so the service reads the article and the "
              "thread's last 50 comments, and remembers the comment), with the API's defaults: explanations on, "
              "held comments stored for review. Batches are 20 such comments. The per-key rate limit is off for "
              "the run (one key sends everything). Fixed rate: open loop from a separate process, latency from "
              "each request's due time, 10 s timeout. Saturation: wrk, closed loop. 'server mean' is the "
              "service's own histogram (/metrics, summed over both workers). Before each scenario the benchmark "
              "waits until the server's processes use under 2 % of a core ('settled s'). The load average counts every "
              "process on the machine, the load generator included."]
    if result["cpu_ms_per_request"]:
        lines += ["", "CPU per request in one process (Flask test client, no HTTP server; `time.process_time`, "
                  "which other processes on the machine hardly move):", "", "| request | CPU ms |", "|---|---:|"]
        lines += [f"| {name} | {ms} |" for name, ms in result["cpu_ms_per_request"].items()]
    verdict = {True: "**met**", False: "**not met**", None: "not measured in this run"}
    targets = result["targets"]
    goal = TARGETS[targets["tier"]]
    lines += ["", f"Targets of the {targets['tier']} model: p99 under {goal['p99_ms']} ms for one comment at "
              f"{goal['rate']} req/s: {verdict[targets['p99_single_at_rate']]}; at least {goal['per_s']:,} "
              f"single-comment req/s at saturation: {verdict[targets['single_at_saturation']]}."]
    if result.get("repeats"):
        lines += ["", "The target scenarios again (each run after the server settled; the first run is the one in the "
                  "table above):", "", "| scenario | figure | each run | sorted | meeting the target |",
                  "|---|---|---|---|---|"]
        for name, spread in result["repeats"].items():
            values = spread["values"]
            lines.append(f"| {name} | {spread['figure']} | {', '.join(f'{v:g}' for v in values)} | "
                         f"{', '.join(f'{v:g}' for v in sorted(values))} | {spread['meeting_target']} of {len(values)} |")
    if result.get("profile"):
        lines += ["", f"Profile of one worker under saturation, single comments ({result['profile']['samples']} "
                  "py-spy samples of the thread holding the GIL; each sample in the most specific stage on "
                  "its stack):", "",
                  "| stage | % of samples |", "|---|---:|"]
        lines += [f"| {stage} | {share} |" for stage, share in result["profile"]["stages_percent"].items()]
        lines += ["", f"SQLAlchemy frames, across the store stages: {result['profile']['sqlalchemy_percent']} %."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=None, help="Model registry to copy (default: train one).")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds per scenario.")
    parser.add_argument("--rate", type=float, default=None,
                        help="Requests/s of the fixed-rate single comments (default: the model tier's target rate, "
                             "200 lexical, 50 semantic).")
    parser.add_argument("--batch-rate", type=float, default=50.0,
                        help="Requests/s of the fixed-rate batches (50 x 20 = 1,000 comments/s).")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"Comma-separated subset of: {', '.join(SCENARIOS)}.")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections at saturation.")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--server", choices=sorted(COMMANDS), default="granian",
                        help="granian (`moderation serve`, the default production command) or gunicorn.")
    parser.add_argument("--threads", type=int, default=None,
                        help=f"Request threads per worker (default: the command's, {DEFAULT_THREADS}).")
    parser.add_argument("--floor-duration", type=float, default=10.0,
                        help="Seconds of the floor scenarios (no thread context; GET /healthz).")
    parser.add_argument("--repeat", type=int, default=1,
                        help="Run the two target scenarios (single-rate, single) this many times in all, to show "
                             "the spread between runs.")
    parser.add_argument("--no-cpu", action="store_true", help="Skip the in-process CPU-per-request measurements.")
    parser.add_argument("--profile", action="store_true", help="Also sample a worker with py-spy (20 s).")
    parser.add_argument("--rules", action="store_true",
                        help="Authors on every comment, the author rules on and a 10,000-entry word list stored.")
    parser.add_argument("--cpu-only", action="store_true", help="Only the in-process CPU-per-request table.")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    tier = "semantic" if encoder_enabled() else "lexical"
    if args.rate is None:
        args.rate = TARGETS[tier]["rate"]
    chosen_scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = sorted(set(chosen_scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    if args.cpu_only:
        with tempfile.TemporaryDirectory(prefix="moderation-load-") as tmp:
            home = Path(tmp) / "home"
            home.mkdir()
            prepare_home(home, args.models)
            cpu = cpu_per_request(home, rules=args.rules)
        args.out.mkdir(parents=True, exist_ok=True)
        machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "load_average": os.getloadavg()}
        (args.out / "load-cpu.json").write_text(json.dumps({"machine": machine, "rules": RULES_POLICY if args.rules
                                                             else None, "cpu_ms_per_request": cpu}, indent=2) + "\n",
                                                encoding="utf-8")
        print("\n".join(f"{name}: {value} ms" for name, value in cpu.items()))
        return 0
    _tool("wrk")

    with tempfile.TemporaryDirectory(prefix="moderation-load-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        prepare_home(home, args.models)
        print("CPU per request, in process", file=sys.stderr)
        cpu = {} if args.no_cpu else cpu_per_request(home, rules=args.rules)
        server = Server(home, args.workers, args.threads, args.server)
        if args.rules:
            server.env["MODERATION_AUTHOR_POLICY"] = json.dumps(RULES_POLICY)
        key = server.create_key("score,admin" if args.rules else "score")
        files = {}
        authored = with_authors if args.rules else list
        for name, bodies in (("single", authored(single_bodies())), ("batch", authored(batch_bodies())),
                             ("contextless", authored(contextless_bodies()))):
            files[name] = (Path(tmp) / f"{name}.jsonl", Path(tmp) / f"{name}.lua")
            files[name][0].write_text("\n".join(bodies) + "\n", encoding="utf-8")
            _write_lua(files[name][1], bodies, key)
        healthz = Path(tmp) / "healthz.lua"
        _write_lua(healthz, [], key, "GET", "/healthz")
        server.start()
        try:
            status, _ = _http("PUT", f"{server.url}/v1/articles/{ARTICLE_ID}", ARTICLE, key)
            assert status in (200, 201), status
            if args.rules:
                status, _ = _http("PUT", f"{server.url}/v1/wordlists/bench", rules_wordlist(), key)
                assert status == 201, status
            status, body = _http("POST", server.url + "/v1/moderate",
                                 json.loads(batch_bodies()[0].replace(UNIQUE, "check")), key)
            assert status == 200 and len(json.loads(body)["results"]) == BATCH_SIZE, (status, body[:300])
            model_version = json.loads(body)["model_version"]
            runs = {
                "single-rate": ("single, fixed rate",
                                lambda: fixed_rate(server, key, files["single"][0], args.rate, args.duration)),
                "batch-rate": ("batch, fixed rate",
                               lambda: fixed_rate(server, key, files["batch"][0], args.batch_rate, args.duration)),
                "single": ("single, saturation", lambda: saturation(server, files["single"][1], args.duration,
                                                                     args.connections, args.wrk_threads)),
                "batch": ("batch, saturation", lambda: saturation(server, files["batch"][1], args.duration,
                                                                   args.connections, args.wrk_threads)),
                # Floors, for the profile's sake: the same comments with no thread context, and the framework.
                "contextless": ("single, no thread context, saturation",
                                lambda: saturation(server, files["contextless"][1], args.floor_duration,
                                                   args.connections, args.wrk_threads)),
                "healthz": ("GET /healthz, saturation",
                            lambda: saturation(server, healthz, args.floor_duration, args.connections,
                                               args.wrk_threads)),
            }
            scenarios = {}
            for chosen in chosen_scenarios:
                name, run = runs[chosen]
                waited = server.settle()
                print(f"{name} (after {waited} s for the server to settle)", file=sys.stderr)
                scenarios[name] = run() | {"settled_after_s": waited}
            repeats = {}
            target_runs = [chosen for chosen in ("single-rate", "single") if chosen in chosen_scenarios]
            for round_ in range(2, args.repeat + 1):
                for chosen in target_runs:
                    name, run = runs[chosen]
                    waited = server.settle()
                    print(f"{name}, run {round_} of {args.repeat}", file=sys.stderr)
                    repeats.setdefault(name, [scenarios[name]]).append(run() | {"settled_after_s": waited})
            profiled = None
            if args.profile:
                print("profiling a worker under saturation, single comments", file=sys.stderr)
                profiled = profile(server, files["single"][1], 20, args.connections, Path(tmp) / "profile.txt")
            _, metrics = _http("GET", server.url + "/metrics")
        finally:
            server.stop()
        threads = server.env.get("MODERATION_THREADS") or DEFAULT_THREADS

    result = {
        "machine": _machine(), "model_version": model_version,
        "server": {"kind": args.server, "command": " ".join(COMMANDS[args.server]).replace(sys.executable, "python"),
                   "workers": args.workers, "threads": int(threads)},
        "comments_per_batch": BATCH_SIZE, "cpu_ms_per_request": cpu, "scenarios": scenarios,
        "targets": _targets(scenarios, args.rate, tier),
        "repeats": {name: _spread(name, runs_, tier) for name, runs_ in repeats.items()},
        "comments_scored_total": _metric(metrics.decode(), "moderation_comments_scored_total"),
    }
    if profiled:
        result["profile"] = profiled
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / "load.md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))
    return 0


def _spread(name: str, runs: list[dict], tier: str) -> dict:
    """Each run's figure a target is about (p99 at a fixed rate, req/s at saturation), and how many meet it."""
    goal = TARGETS[tier]
    if "fixed rate" in name:
        values = [run["latency_ms"]["p99"] for run in runs]
        return {"figure": "p99 ms", "values": values, "meeting_target": sum(v < goal["p99_ms"] for v in values)}
    values = [run["requests_per_s"] for run in runs]
    return {"figure": "req/s", "values": values, "meeting_target": sum(v >= goal["per_s"] for v in values)}


def _targets(scenarios: dict, rate: float, tier: str) -> dict:
    """Whether each target of the model's tier is met, for the scenarios that ran (another fixed rate: None)."""
    goal = TARGETS[tier]
    at_rate, saturated = scenarios.get("single, fixed rate"), scenarios.get("single, saturation")
    return {"tier": tier,
            "p99_single_at_rate": at_rate["latency_ms"]["p99"] < goal["p99_ms"] if at_rate and rate == goal["rate"]
            else None,
            "single_at_saturation": saturated["requests_per_s"] >= goal["per_s"] if saturated else None}


def _metric(text: str, name: str) -> float | None:
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else None


if __name__ == "__main__":
    raise SystemExit(main())

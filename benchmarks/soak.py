"""Soak: the production server at a fixed request rate for minutes, from a separate process.

Reports throughput, latency percentiles, errors, and the workers' memory over time (it must stay flat:
a leak shows as steady growth after the warm-up). Run ``python -m benchmarks.soak`` (default 5 minutes at
100 requests/s) or ``--duration 20 --rate 40`` for the short mode the test suite uses.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .corpora import ROOT, write_results
from .load import ARTICLE_ID, Server, _http, prepare_home, single_bodies


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run(duration: float, rate: float, models: Path | None = None, workers: int = 2) -> dict:
    """Drive a fresh server for ``duration`` seconds at ``rate`` single-comment requests a second."""
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        home = Path(tmp)
        prepare_home(home, models)
        server = Server(home, workers, None)
        key = server.create_key()
        server.start()
        try:
            _http("PUT", f"{server.url}/v1/articles/{ARTICLE_ID}",
                  {"title": "Council approves protected bike lanes", "body": "Harbour Street gets bike lanes."}, key)
            bodies = home / "soak-bodies.jsonl"
            bodies.write_text("\n".join(single_bodies()) + "\n", encoding="utf-8")
            samples: list[tuple[float, float]] = []
            stop = threading.Event()

            def sample_memory():
                started = time.monotonic()
                while not stop.wait(1.0):
                    sizes = [_rss_mib(pid) for pid in server.worker_pids()]
                    samples.append((round(time.monotonic() - started, 1), round(sum(s for s in sizes if s), 1)))

            sampler = threading.Thread(target=sample_memory, daemon=True)
            sampler.start()
            done = subprocess.run([sys.executable, "-m", "benchmarks.openloop", "--url", server.url + "/v1/moderate",
                                   "--bodies", str(bodies), "--header", f"Authorization: Bearer {key}",
                                   "--rate", str(rate), "--duration", str(duration), "--warmup", "5",
                                   "--run", "soak"], capture_output=True, text=True, check=True, cwd=ROOT)
            stop.set()
            sampler.join()
        finally:
            server.stop()
    load = json.loads(done.stdout)
    steady = [mib for t, mib in samples if t >= 5 + duration / 4]  # after warm-up and the first quarter
    growth = round(steady[-1] - steady[0], 1) if len(steady) >= 2 else None
    return {"duration_s": duration, "rate": rate, "workers": workers, "client": load,
            "worker_rss_mib": samples, "rss_growth_after_first_quarter_mib": growth,
            "rss_steady_first_last_mib": [steady[0], steady[-1]] if steady else None}


def markdown(result: dict) -> str:
    client = result["client"]
    return "\n".join([
        f"# Soak: {result['rate']:.0f} single-comment requests/s for {result['duration_s']:.0f} s "
        f"(gunicorn, {result['workers']} workers)", "",
        "| answered req/s | p50 ms | p99 ms | p99.9 ms | errors | workers' RSS after first quarter → end, MiB |",
        "|---:|---:|---:|---:|---|---|",
        f"| {client['ok_per_s']} | {client['latency_ms']['p50']} | {client['latency_ms']['p99']} "
        f"| {client['latency_ms']['p99.9']} "
        f"| {client.get('errors') or 'none'} | {result['rss_steady_first_last_mib']} "
        f"(growth {result['rss_growth_after_first_quarter_mib']}) |", ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--models", type=Path, default=None, help="Model registry to copy (default: train one).")
    args = parser.parse_args(argv)
    result = run(args.duration, args.rate, args.models)
    write_results("soak", result, markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Speed and footprint of the project's model beside alt-profanity-check, both measured in the same run.

Trains the model on all the shared corpora (C3 + toxic-spans + davidson) with the project's ``train``, then
measures batch throughput, single-comment latency, peak memory of a process holding the model, and artifact
size. Run from the repository root::

    python -m benchmarks.speed

Writes ``benchmarks/results/speed.json`` and ``speed.md`` and prints the table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import profanity_check
from profanity_check import predict_prob

from moderation.model.classifier import LabelSkippedWarning
from moderation.model.comment import Comment
from moderation.runtime.artifact import Registry, load
from moderation.runtime.scorer import Scorer
from training.train import build_comments, load_data, train

from .corpora import RESULTS_DIR, ROOT, SHARED, bundled_paths, load_shared, split_by_article, write_results

BATCH = 1000
REPEATS = 3
LATENCY_CALLS = 500
WARM_UP = 20
THREAD_LENGTH = 5
PEER = "alt-profanity-check"


def _quiet(message: str) -> None:
    """Swallow train()'s progress lines."""


def train_on_shared(registry_dir: Path) -> tuple[Path, dict]:
    """Train on every shared corpus into ``registry_dir``; the version directory and wall and CPU seconds."""
    data = load_data([(fmt, str(path)) for fmt, path in SHARED.values()])
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelSkippedWarning)
        _, metadata = train(data, Registry(registry_dir), log=_quiet)
    return Path(metadata["path"]), {"wall_seconds": round(time.perf_counter() - wall, 1),
                                    "cpu_seconds": round(time.process_time() - cpu, 1)}


def c3_test_comments() -> list[Comment]:
    """C3's held-out comments (split by article as in benchmarks.quality), each with its thread as context."""
    c3 = load_shared("c3")
    _, test_rows = split_by_article(c3)
    return build_comments(c3.iloc[test_rows].reset_index(drop=True), {})


def latency_comments(count: int) -> list[Comment]:
    """Bundled comments with their article's text and up to THREAD_LENGTH earlier comments as the thread."""
    data_paths, article_paths = bundled_paths()
    data = load_data(data_paths, article_paths)
    comments = build_comments(data.frame, data.articles)
    picked = [c for c in comments if c.article][:count]
    return [Comment(c.text, c.article, c.thread[:THREAD_LENGTH]) for c in picked]


def throughput(score, items: list, repeats: int = REPEATS) -> dict:
    """Best comments per wall-clock second and per CPU second over ``repeats`` passes on batches of BATCH.

    Per CPU second is the steadier figure on a shared machine: other processes slow the wall clock, not it.
    """
    wall_best = cpu_best = 0.0
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for begin in range(0, len(items), BATCH):
            score(items[begin:begin + BATCH])
        wall_best = max(wall_best, len(items) / (time.perf_counter() - wall))
        cpu_best = max(cpu_best, len(items) / max(time.process_time() - cpu, 1e-9))
    return {"wall_per_s": round(wall_best, 1), "cpu_per_s": round(cpu_best, 1)}


def latency(score, items: list) -> dict:
    """p50 and p99 milliseconds of ``score`` called with one item at a time, after a warm-up."""
    for item in items[:WARM_UP]:
        score([item])
    timings = []
    for item in items:
        started = time.perf_counter()
        score([item])
        timings.append((time.perf_counter() - started) * 1000)
    p50, p99 = np.percentile(timings, [50, 99])
    return {"p50_ms": round(float(p50), 3), "p99_ms": round(float(p99), 3), "calls": len(timings)}


def peak_rss(kind: str, model_dir: Path | None = None) -> dict:
    """Run the memory probe in a fresh interpreter and return what it reports."""
    command = [sys.executable, "-m", "benchmarks._rss_probe", kind] + ([str(model_dir)] if model_dir else [])
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"}).stdout
    return json.loads(output.strip().splitlines()[-1])


def peer_model_bytes() -> dict[str, int]:
    """Sizes of the peer's shipped model files."""
    data = Path(profanity_check.__file__).resolve().parent / "data"
    return {path.name: path.stat().st_size for path in sorted(data.glob("*.joblib"))}


def measure() -> dict:
    """Every measurement, ours and the peer's, in one process run."""
    with tempfile.TemporaryDirectory(prefix="speed-") as scratch:
        scratch = Path(scratch)
        load_before = os.getloadavg()
        model_dir, training = train_on_shared(scratch / "models")
        artifact = load(model_dir)
        scorer = Scorer(artifact)
        dumped = scratch / "dump" / "model.joblib"
        dumped.parent.mkdir()
        joblib.dump(artifact.pipeline, dumped, compress=3)
        artifact_bytes = dumped.stat().st_size
        memory = {kind: peak_rss(kind, model_dir if kind == "ours" else None) for kind in ("ours", "peer", "baseline")}

        batch_comments = c3_test_comments()
        texts = [c.text for c in batch_comments]
        text_only = [Comment(t) for t in texts]
        single = latency_comments(LATENCY_CALLS)
        report = {
            "settings": {"batch": BATCH, "repeats": REPEATS, "batch_comments": len(batch_comments),
                         "latency_calls": len(single), "thread_length": THREAD_LENGTH, "cpus": os.cpu_count(),
                         "python": platform.python_version(), "peer": PEER,
                         "load_average_before": [round(x, 2) for x in load_before]},
            "training": {**training, "rows": artifact.metadata["training"]["rows"],
                         "fitted_rows": artifact.metadata["training"]["train_rows"],
                         "peer": "ships pre-trained; no training code in the package"},
            "throughput": {
                "ours_predict_thread": throughput(scorer.predict, batch_comments),
                "ours_predict_text_only": throughput(scorer.predict, text_only),
                "ours_moderate_no_explain": throughput(lambda b: scorer.moderate(b, explain=False), batch_comments),
                "ours_moderate_explain": throughput(scorer.moderate, batch_comments, repeats=1),
                "peer": throughput(predict_prob, texts),
            },
            "latency": {
                "ours_predict": latency(scorer.predict, single),
                "ours_moderate_explain": latency(scorer.moderate, single),
                "peer": latency(predict_prob, [c.text for c in single]),
            },
            "memory": memory,
            "size": {"ours_joblib_compress3_bytes": artifact_bytes, "peer_files_bytes": peer_model_bytes()},
        }
    report["settings"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["ratios"] = _ratios(report)
    return report


def _ratios(report: dict) -> dict:
    """Ours divided by the peer, for every measure both have."""
    peer_bytes = sum(report["size"]["peer_files_bytes"].values())
    pairs = {
        "throughput": (report["throughput"]["ours_predict_thread"]["wall_per_s"],
                       report["throughput"]["peer"]["wall_per_s"]),
        "throughput_cpu": (report["throughput"]["ours_predict_thread"]["cpu_per_s"],
                           report["throughput"]["peer"]["cpu_per_s"]),
        "latency_p50": (report["latency"]["ours_predict"]["p50_ms"], report["latency"]["peer"]["p50_ms"]),
        "latency_p99": (report["latency"]["ours_predict"]["p99_ms"], report["latency"]["peer"]["p99_ms"]),
        "peak_rss": (report["memory"]["ours"]["peak_rss_mib"], report["memory"]["peer"]["peak_rss_mib"]),
        "size": (report["size"]["ours_joblib_compress3_bytes"], peer_bytes),
    }
    return {name: round(ours / peer, 4) for name, (ours, peer) in pairs.items()}


def _compare(ratio: float, higher: str, lower: str) -> str:
    """Words for ours / peer: "ours 3.0× larger" or "ours 2.0× smaller"."""
    factor, word = (ratio, higher) if ratio >= 1 else (1 / ratio, lower)
    return f"ours {factor:.1f}× {word}" if factor < 10 else f"ours {factor:,.0f}× {word}"


def _rate(entry: dict) -> str:
    return f"{entry['wall_per_s']:,.0f} ({entry['cpu_per_s']:,.0f} per CPU s)"


def markdown(report: dict) -> str:
    """The report as one Markdown table."""
    throughput_, latency_, memory, ratios = (report[k] for k in ("throughput", "latency", "memory", "ratios"))
    explained, training = latency_["ours_moderate_explain"], report["training"]
    peer_bytes = sum(report["size"]["peer_files_bytes"].values())
    mib = 1024 * 1024
    rows = [
        ("batch throughput, comments/s (batches of 1,000 C3 held-out comments; ours with thread context)",
         _rate(throughput_["ours_predict_thread"]), _rate(throughput_["peer"]),
         f"{_compare(ratios['throughput'], 'faster', 'slower')} "
         f"({_compare(ratios['throughput_cpu'], 'faster', 'slower')} per CPU s)"),
        ("… ours, text only (no context)", _rate(throughput_["ours_predict_text_only"]), "", ""),
        ("… ours, `Scorer.moderate(explain=False)`", _rate(throughput_["ours_moderate_no_explain"]), "", ""),
        ("… ours, `Scorer.moderate()` with span explanations", _rate(throughput_["ours_moderate_explain"]), "", ""),
        ("single-comment latency p50, ms (ours with article + 5-comment thread)",
         f"{latency_['ours_predict']['p50_ms']:.2f}", f"{latency_['peer']['p50_ms']:.2f}",
         _compare(ratios["latency_p50"], "slower", "faster")),
        ("single-comment latency p99, ms", f"{latency_['ours_predict']['p99_ms']:.2f}",
         f"{latency_['peer']['p99_ms']:.2f}", _compare(ratios["latency_p99"], "slower", "faster")),
        ("… ours, `Scorer.moderate()` with explanations, p50 / p99 ms",
         f"{explained['p50_ms']:.1f} / {explained['p99_ms']:.1f}", "", ""),
        ("peak RSS of a process that loaded the model and scored one comment, MiB",
         f"{memory['ours']['peak_rss_mib']:.0f}", f"{memory['peer']['peak_rss_mib']:.0f}",
         _compare(ratios["peak_rss"], "more", "less")),
        ("… an interpreter with numpy, scipy and scikit-learn imported, MiB",
         f"{memory['baseline']['peak_rss_mib']:.0f}", "", ""),
        ("import + model load time in a fresh process, s", f"{memory['ours']['load_seconds']:.2f}",
         f"{memory['peer']['load_seconds']:.2f}", ""),
        ("artifact size, MiB (ours: joblib compress=3; peer: its shipped .joblib files)",
         f"{report['size']['ours_joblib_compress3_bytes'] / mib:.1f}", f"{peer_bytes / mib:.1f}",
         _compare(ratios["size"], "larger", "smaller")),
        (f"training time on C3 + toxic-spans + davidson ({training['rows']:,} rows; `train()` fits "
         f"{training['fitted_rows']:,}), s", f"{training['wall_seconds']:.0f} ({training['cpu_seconds']:.0f} CPU s)",
         "n/a (pre-trained)", ""),
    ]
    lines = ["| measure | ours | alt-profanity-check | comparison |", "|---|---:|---:|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    load = report["settings"]
    lines += ["", f"Load average (1, 5, 15 min) before: {load['load_average_before']}, after: "
              f"{load['load_average_after']} on {load['cpus']} CPUs."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    report = measure()
    table = markdown(report)
    write_results("speed", report, table)
    print(table)
    print(f"written to {RESULTS_DIR}")
    return report


if __name__ == "__main__":
    main()

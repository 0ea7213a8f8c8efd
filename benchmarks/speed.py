"""Speed and footprint of the project's model beside alt-profanity-check, both measured in the same run.

Trains the default model with ``moderation train`` (the bundled corpus in data/, or with ``--data shared`` all
the shared corpora) twice: with a fresh, empty ``$MODERATION_CACHE`` (cold: the encoder's graph is built and
every text encoded) and again with that cache filled (warm). Then it measures batch throughput,
single-comment latency, peak memory of a process holding the model, and artifact size. Each model tier
(``semantic``, with the sentence encoder; ``lexical``, ``MODERATION_ENCODER=off``) is measured in a process of
its own. Run from the repository root::

    python -m benchmarks.speed [--tiers semantic,lexical] [--data bundled|shared]

Writes ``benchmarks/results/speed.json`` and ``speed.md`` and prints the table.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import profanity_check
from profanity_check import predict_prob

from moderation.model.comment import Comment
from moderation.model.encoder import CACHE_SETTING, ENCODER_SETTING
from moderation.model.semantic import MAX_THREAD_EMBEDDED, article_sentences
from moderation.runtime.artifact import load
from moderation.runtime.scorer import Scorer
from training.train import build_comments, load_data

from .corpora import RESULTS_DIR, ROOT, SHARED, bundled_paths, load_shared, split_by_article, write_results

BATCH = 1000
THROUGHPUT_COMMENTS = 1000  # one batch: a pass of the semantic tier takes about 30 CPU s (encoding, not cached)
REPEATS = 3
LATENCY_CALLS = 500
WARM_UP = 20
THREAD_LENGTH = 5
PEER = "alt-profanity-check"
TIERS = {"semantic": "on", "lexical": "off"}


def train_command(registry_dir: Path, data: str) -> list[str]:
    """``moderation train`` with its defaults, into ``registry_dir``; ``data`` is ``bundled`` or ``shared``."""
    command = [str(Path(sys.executable).with_name("moderation")), "train", "--out", str(registry_dir), "--no-promote"]
    if data == "shared":
        for fmt, path in SHARED.values():
            command += ["--data", str(path), "--format", fmt]
    return command


def timed_training(registry_dir: Path, data: str, cache: Path) -> dict:
    """Run ``moderation train`` with ``$MODERATION_CACHE`` at ``cache``; wall and CPU seconds and the version."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    output = subprocess.run(train_command(registry_dir, data), cwd=ROOT, check=True, capture_output=True,
                            text=True, env={**os.environ, CACHE_SETTING: str(cache)}).stdout
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    version = re.search(r"model version: (\S+)\s+\((.+)\)", output)
    return {"wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1), "path": version.group(2)}


def train_cold_and_warm(scratch: Path, data: str, semantic: bool) -> tuple[Path, dict]:
    """Train with a fresh cache, then (semantic tier only: the lexical model has nothing to cache) with it warm."""
    cache = scratch / "cache"
    cold = timed_training(scratch / "models", data, cache)
    training = {"cold_cache": cold}
    if semantic:
        training["warm_cache"] = timed_training(scratch / "models", data, cache)
    return Path(cold["path"]), training


def semantic_tier(scorer: Scorer):
    """The model's semantic tier (None for a lexical model)."""
    return getattr(scorer.pipeline[0], "semantic", None)


def forget_embeddings(scorer: Scorer) -> None:
    """Empty the process's cache of recent embeddings, as if no comment or article had been seen."""
    semantic = semantic_tier(scorer)
    if semantic is not None:
        semantic.__dict__.pop("_cache", None)


def c3_test_comments() -> list[Comment]:
    """C3's held-out comments (split by article as in benchmarks.quality), each with its thread as context."""
    c3 = load_shared("c3")
    _, test_rows = split_by_article(c3)
    return build_comments(c3.iloc[test_rows].reset_index(drop=True), {})[:THROUGHPUT_COMMENTS]


def latency_comments() -> list[Comment]:
    """Bundled comments with their article's text and up to THREAD_LENGTH earlier comments as the thread."""
    data_paths, article_paths = bundled_paths()
    data = load_data(data_paths, article_paths)
    comments = build_comments(data.frame, data.articles)
    return [Comment(c.text, c.article, c.thread[:THREAD_LENGTH]) for c in comments if c.article]


def throughput(score, items: list, repeats: int = REPEATS, reset=None) -> dict:
    """Best comments per wall-clock second and per CPU second over ``repeats`` passes on batches of BATCH.

    Per CPU second is the steadier figure on a shared machine: other processes slow the wall clock, not it.
    ``reset`` runs before each pass (untimed): each pass must encode its comments, not find them cached.
    """
    wall_best = cpu_best = 0.0
    for _ in range(repeats):
        if reset:
            reset()
        wall, cpu = time.perf_counter(), time.process_time()
        for begin in range(0, len(items), BATCH):
            score(items[begin:begin + BATCH])
        wall_best = max(wall_best, len(items) / (time.perf_counter() - wall))
        cpu_best = max(cpu_best, len(items) / max(time.process_time() - cpu, 1e-9))
    return {"wall_per_s": round(wall_best, 1), "cpu_per_s": round(cpu_best, 1)}


def latency(score, items: list, warm_up: list | None = None) -> dict:
    """p50 and p99 milliseconds of ``score`` called with one item at a time, after a warm-up on ``warm_up``."""
    for item in items[:WARM_UP] if warm_up is None else warm_up:
        score([item])
    timings, cpu = [], []
    for item in items:
        started, cpu_started = time.perf_counter(), time.process_time()
        score([item])
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    p50, p99 = np.percentile(timings, [50, 99])
    cpu_p50, cpu_p99 = np.percentile(cpu, [50, 99])
    return {"p50_ms": round(float(p50), 3), "p99_ms": round(float(p99), 3), "max_ms": round(max(timings), 3),
            "cpu_p50_ms": round(float(cpu_p50), 3), "cpu_p99_ms": round(float(cpu_p99), 3), "calls": len(timings)}


def seen_context(scorer: Scorer, comments: list[Comment]) -> None:
    """Empty the embedding cache, then embed the comments' articles and the earlier comments of their threads.

    This is a serving process that has seen the article and the thread before: each call then encodes its own
    comment only, as in the service (a comment's thread is made of comments it scored before).
    """
    forget_embeddings(scorer)
    semantic = semantic_tier(scorer)
    if semantic is None:
        return
    own = {c.text for c in comments}
    context = [t for c in comments
               for t in (*(article_sentences(c.article) if c.article else ()), *c.thread[-MAX_THREAD_EMBEDDED:])]
    semantic.embedding([t for t in dict.fromkeys(context) if t not in own])


def first_on_article(scorer: Scorer, comments: list[Comment]) -> dict:
    """Latency of the first comment on each article in a process that has seen none: its sentences are encoded."""
    forget_embeddings(scorer)
    firsts = list({c.article: c for c in reversed(comments)}.values())
    scorer.predict([Comment("Warm up the runtime on a text with no article.")])
    return latency(scorer.predict, firsts, warm_up=[])


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


def measure(tier: str, data: str) -> dict:
    """Every measurement of one model tier, and the peer's, in this process (``$MODERATION_ENCODER`` set)."""
    with tempfile.TemporaryDirectory(prefix="speed-") as scratch:
        scratch = Path(scratch)
        batch_comments = c3_test_comments()
        with_article = latency_comments()
        load_before = os.getloadavg()
        model_dir, training = train_cold_and_warm(scratch, data, tier == "semantic")
        artifact = load(model_dir)
        scorer = Scorer(artifact)
        dumped = scratch / "dump" / "model.joblib"
        dumped.parent.mkdir()
        joblib.dump(artifact.pipeline, dumped, compress=3)
        artifact_bytes = dumped.stat().st_size
        memory = {kind: peak_rss(kind, model_dir if kind == "ours" else None) for kind in ("ours", "peer", "baseline")}

        texts = [c.text for c in batch_comments]
        text_only = [Comment(t) for t in texts]
        single, warm_up = with_article[:LATENCY_CALLS], with_article[-WARM_UP:]
        reset = lambda: forget_embeddings(scorer)  # noqa: E731
        forget_embeddings(scorer)
        for item in warm_up:
            scorer.predict([item])
        seen_context(scorer, single)
        predict_latency = latency(scorer.predict, single, warm_up=[])
        seen_context(scorer, single)
        explain_latency = latency(scorer.moderate, single, warm_up=[])
        report = {
            "settings": {"tier": tier, ENCODER_SETTING: TIERS[tier], "data": data, "batch": BATCH,
                         "repeats": {"ours": 1, "peer": REPEATS}, "batch_comments": len(batch_comments),
                         "latency_calls": len(single),
                         "thread_length": THREAD_LENGTH, "cpus": os.cpu_count(),
                         "python": platform.python_version(), "peer": PEER,
                         "load_average_before": [round(x, 2) for x in load_before]},
            "training": {**training, "rows": artifact.metadata["training"]["rows"],
                         "fitted_rows": artifact.metadata["training"]["train_rows"],
                         "peer": "ships pre-trained; no training code in the package"},
            "throughput": {
                "ours_predict_thread": throughput(scorer.predict, batch_comments, repeats=1, reset=reset),
                "ours_predict_text_only": throughput(scorer.predict, text_only, repeats=1, reset=reset),
                "ours_moderate_no_explain": throughput(lambda b: scorer.moderate(b, explain=False), batch_comments,
                                                       repeats=1, reset=reset),
                "ours_moderate_explain": throughput(scorer.moderate, batch_comments, repeats=1, reset=reset),
                "peer": throughput(predict_prob, texts),
            },
            "latency": {
                "ours_predict": predict_latency,
                "ours_moderate_explain": explain_latency,
                "ours_first_on_article": first_on_article(scorer, with_article),
                "peer": latency(predict_prob, [c.text for c in single]),
            },
            "memory": memory,
            "size": {"ours_joblib_compress3_bytes": artifact_bytes, "peer_files_bytes": peer_model_bytes()},
        }
    report["settings"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report["ratios"] = _ratios(report)
    return report


def measure_in_child(tier: str, data: str) -> dict:
    """:func:`measure` of ``tier`` in a fresh interpreter with ``$MODERATION_ENCODER`` set for it."""
    command = [sys.executable, "-m", "benchmarks.speed", "--tiers", tier, "--data", data, "--child"]
    output = subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, ENCODER_SETTING: TIERS[tier], "PYTHONWARNINGS": "ignore"}).stdout
    return json.loads(output.strip().splitlines()[-1])


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


def _rate(entry: dict) -> str:
    return f"{entry['wall_per_s']:,.0f} ({entry['cpu_per_s']:,.0f} per CPU s)"


def _training(entry: dict | None) -> str:
    return f"{entry['wall_seconds']:.0f} ({entry['cpu_seconds']:.0f} CPU s)" if entry else "–"


def markdown(reports: dict[str, dict]) -> str:
    """The reports, one column per model tier and one for the peer (from the first tier's run)."""
    tiers = list(reports)
    first = reports[tiers[0]]
    mib = 1024 * 1024

    def row(name: str, ours, peer: str = "") -> str:
        return f"| {name} | " + " | ".join(ours(reports[t]) for t in tiers) + f" | {peer} |"

    lat = lambda r, k, f: f(r["latency"][k])  # noqa: E731
    training = first["training"]
    lines = [f"| measure | {' | '.join(tiers)} | alt-profanity-check |", "|---" + "|---:" * (len(tiers) + 1) + "|",
             row("batch throughput, comments/s (a batch of the first 1,000 C3 held-out comments with thread context; "
                 "one pass, embeddings forgotten before it)", lambda r: _rate(r["throughput"]["ours_predict_thread"]),
                 _rate(first["throughput"]["peer"])),
             row("… text only (no context)", lambda r: _rate(r["throughput"]["ours_predict_text_only"])),
             row("… `Scorer.moderate(explain=False)`", lambda r: _rate(r["throughput"]["ours_moderate_no_explain"])),
             row("… `Scorer.moderate()` with span explanations",
                 lambda r: _rate(r["throughput"]["ours_moderate_explain"])),
             row("single-comment latency p50 / p99, ms (article + 5-comment thread seen before; the comment is new)",
                 lambda r: lat(r, "ours_predict", lambda e: f"{e['p50_ms']:.2f} / {e['p99_ms']:.2f}"),
                 f"{first['latency']['peer']['p50_ms']:.2f} / {first['latency']['peer']['p99_ms']:.2f}"),
             row("… CPU ms of the same calls, p50 / p99 (steadier on a shared machine)",
                 lambda r: lat(r, "ours_predict", lambda e: f"{e['cpu_p50_ms']:.2f} / {e['cpu_p99_ms']:.2f}"),
                 f"{first['latency']['peer']['cpu_p50_ms']:.2f} / {first['latency']['peer']['cpu_p99_ms']:.2f}"),
             row("… `Scorer.moderate()` with explanations, p50 / p99 ms",
                 lambda r: lat(r, "ours_moderate_explain", lambda e: f"{e['p50_ms']:.1f} / {e['p99_ms']:.1f}")),
             row("… first comment on an article the process has not seen, p50 / max ms "
                 f"({first['latency']['ours_first_on_article']['calls']} articles)",
                 lambda r: lat(r, "ours_first_on_article", lambda e: f"{e['p50_ms']:.1f} / {e['max_ms']:.1f}")),
             row("peak RSS of a process that loaded the model and scored one comment, MiB",
                 lambda r: f"{r['memory']['ours']['peak_rss_mib']:.0f}",
                 f"{first['memory']['peer']['peak_rss_mib']:.0f}"),
             row("… an interpreter with numpy, scipy and scikit-learn imported, MiB",
                 lambda r: f"{r['memory']['baseline']['peak_rss_mib']:.0f}"),
             row("import + model load time in a fresh process, s",
                 lambda r: f"{r['memory']['ours']['load_seconds']:.2f}",
                 f"{first['memory']['peer']['load_seconds']:.2f}"),
             row("artifact size, MiB (ours: joblib compress=3; peer: its shipped .joblib files)",
                 lambda r: f"{r['size']['ours_joblib_compress3_bytes'] / mib:.1f}",
                 f"{sum(first['size']['peer_files_bytes'].values()) / mib:.1f}"),
             row(f"`moderation train` on {first['settings']['data']} data ({training['rows']:,} rows; fits "
                 f"{training['fitted_rows']:,}), fresh `$MODERATION_CACHE`, wall s",
                 lambda r: _training(r["training"]["cold_cache"]), "n/a (pre-trained)"),
             row("… again with that cache filled", lambda r: _training(r["training"].get("warm_cache"))),
             ""]
    for tier in tiers:
        settings = reports[tier]["settings"]
        lines.append(f"{tier} ({ENCODER_SETTING}={settings[ENCODER_SETTING]}): load average (1, 5, 15 min) before "
                     f"{settings['load_average_before']}, after {settings['load_average_after']} on "
                     f"{settings['cpus']} CPUs.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.splitlines()[0])
    parser.add_argument("--tiers", default="semantic,lexical",
                        help="model tiers to measure, comma-separated: semantic, lexical (default both)")
    parser.add_argument("--data", choices=("bundled", "shared"), default="bundled",
                        help="train on the bundled corpus (the default model) or on all the shared corpora")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    tiers = args.tiers.split(",")
    unknown = set(tiers) - set(TIERS)
    if unknown:
        parser.error(f"unknown tier(s) {', '.join(sorted(unknown))}: use {', '.join(TIERS)}")
    if args.child:
        print(json.dumps(measure(tiers[0], args.data)))
        return {}
    reports = {tier: measure_in_child(tier, args.data) for tier in tiers}
    table = markdown(reports)
    write_results("speed", reports, table)
    print(table)
    print(f"written to {RESULTS_DIR}")
    return reports


if __name__ == "__main__":
    main()

"""Bulk scoring: ``moderation score`` as a whole process beside alt-profanity-check's, in the same run, and the
same comments on a local Dask cluster of 1 and 2 single-threaded worker processes.

Lexical tier (``MODERATION_ENCODER=off`` model): 40,000 news comments (benchmarks.corpora.news_comments), each
command run ``--rounds`` times in turn, the best wall time kept. Semantic tier: the first 1,000 of them, our
scoring beside the sentence encoder alone embedding the same texts (a process that loads it and encodes them).
Run from the repository root::

    python -m benchmarks.bulk [--lexical-model DIR] [--semantic-model DIR]

Without a model directory it trains one on the bundled corpus (``moderation train``). Writes
``benchmarks/results/bulk.json`` and ``bulk.md`` and prints the table. Other processes on the machine slow every
command alike: the ratios of one run are the figures to read, with the load averages it records.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from moderation.bulk import score_files_on_dask
from moderation.model.encoder import ENCODER_SETTING

from .corpora import ROOT, news_comments, write_results
from .speed import timed_training

MODERATION = str(Path(sys.executable).with_name("moderation"))


def run_timed(command: list[str], output: Path, env: dict | None = None) -> dict:
    """Run a command with its stdout in ``output``; wall and CPU seconds (its own and its children's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(output, "w", encoding="utf-8") as handle:
        subprocess.run(command, cwd=ROOT, check=True, stdout=handle, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_seconds": round(wall, 2),
            "cpu_seconds": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2)}


def best_of(commands: dict[str, tuple[list[str], dict]], rounds: int, scratch: Path) -> dict:
    """Each command ``rounds`` times, taking turns; the run with the best wall time of each."""
    best: dict[str, dict] = {}
    for _ in range(rounds):
        for name, (command, env) in commands.items():
            timing = run_timed(command, scratch / f"{name}.out", env)
            if name not in best or timing["wall_seconds"] < best[name]["wall_seconds"]:
                best[name] = timing
    return best


def whole_process(data: Path, count: int, model: Path, jobs: int, rounds: int, scratch: Path) -> dict:
    """The lexical tier and the peer on ``count`` comments, each a whole process, start-up included."""
    ours = lambda n: ([MODERATION, "score", "--model", str(model), "--jobs", str(n), str(data)],  # noqa: E731
                      {ENCODER_SETTING: "off"})
    commands = {"peer": ([sys.executable, "-m", "benchmarks._peer_score", str(data)], {}),
                "ours_jobs_1": ours(1), f"ours_jobs_{jobs}": ours(jobs)}
    timings = best_of(commands, rounds, scratch)
    for timing in timings.values():
        timing["comments_per_s"] = round(count / timing["wall_seconds"], 1)
    identical = filecmp.cmp(scratch / "ours_jobs_1.out", scratch / f"ours_jobs_{jobs}.out", shallow=False)
    return {"comments": count, "timings": timings, "jobs_output_identical": identical,
            "ratio_to_peer": {name: round(timings["peer"]["wall_seconds"] / t["wall_seconds"], 3)
                              for name, t in timings.items() if name != "peer"}}


def semantic(data: Path, count: int, model: Path, jobs: int, scratch: Path) -> dict:
    """The semantic tier beside the encoder alone on the same texts, whole processes, one round each."""
    encoder = subprocess.run([sys.executable, "-m", "benchmarks._encoder_alone", str(data)], cwd=ROOT, check=True,
                             capture_output=True, text=True, env={**os.environ, ENCODER_SETTING: "on"})
    alone = json.loads(encoder.stdout.strip().splitlines()[-1])
    timings = {"encoder_alone": {"wall_seconds": round(alone["load_seconds"] + alone["encode_seconds"], 2),
                                 **alone}}
    for n in (1, jobs):
        timings[f"ours_jobs_{n}"] = run_timed([MODERATION, "score", "--model", str(model), "--jobs", str(n),
                                               str(data)], scratch / f"semantic_{n}.out", {ENCODER_SETTING: "on"})
    for timing in timings.values():
        timing["comments_per_s"] = round(count / timing["wall_seconds"], 1)
    return {"comments": count, "timings": timings,
            "share_of_encoder_alone": {name: round(timings["encoder_alone"]["wall_seconds"] / t["wall_seconds"], 3)
                                       for name, t in timings.items() if name != "encoder_alone"}}


def dask_curve(rows: list[dict], model: Path, partitions: int, scratch: Path) -> dict:
    """Wall time of score_files_on_dask on a LocalCluster of 1, then 2, single-threaded worker processes."""
    import pandas as pd
    from distributed import Client, LocalCluster

    source = scratch / f"dask-in-{model.name}"
    source.mkdir()
    frame = pd.DataFrame(rows)
    for i in range(partitions):
        frame.iloc[i::partitions].to_parquet(source / f"part-{i:02d}.parquet", index=False)
    curve = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            started = time.perf_counter()
            score_files_on_dask(client, source, scratch / f"dask-out-{model.name}-{workers}", model)
            wall = time.perf_counter() - started
        curve[workers] = {"wall_seconds": round(wall, 2), "comments_per_s": round(len(rows) / wall, 1),
                          "per_worker_comments_per_s": round(len(rows) / wall / workers, 1)}
    curve["speedup_2_over_1"] = round(curve[1]["wall_seconds"] / curve[2]["wall_seconds"], 3)
    return {"comments": len(rows), "partitions": partitions, "workers": curve}


def write_jsonl(rows: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def train(scratch: Path, encoder: str) -> Path:
    """A model on the bundled corpus, trained with ``$MODERATION_ENCODER`` at ``encoder``."""
    saved = os.environ.get(ENCODER_SETTING)
    os.environ[ENCODER_SETTING] = encoder
    try:
        cache = Path(os.environ.get("MODERATION_CACHE") or scratch / "cache")
        return Path(timed_training(scratch / f"models-{encoder}", "bundled", cache)["path"])
    finally:
        os.environ.pop(ENCODER_SETTING) if saved is None else os.environ.update({ENCODER_SETTING: saved})


def markdown(report: dict) -> str:
    lexical, semantic_tier = report["lexical"], report["semantic"]
    jobs = report["settings"]["jobs"]
    t = lexical["timings"]
    lines = [
        f"Lexical tier, {lexical['comments']:,} news comments, whole process (start-up included), best of "
        f"{report['settings']['rounds']} rounds:", "",
        "| command | wall s | CPU s | comments/s | throughput vs alt-profanity-check |", "|---|---:|---:|---:|---:|",
        f"| alt-profanity-check (`benchmarks/_peer_score.py`) | {t['peer']['wall_seconds']} | "
        f"{t['peer']['cpu_seconds']} | {t['peer']['comments_per_s']:,} | 1 |"]
    for n in sorted({1, jobs}):
        key = f"ours_jobs_{n}"
        lines.append(f"| `moderation score --jobs {n}` | {t[key]['wall_seconds']} | {t[key]['cpu_seconds']} | "
                     f"{t[key]['comments_per_s']:,} | {lexical['ratio_to_peer'][key]} |")
    s = semantic_tier["timings"]
    lines += ["", f"Output of `--jobs 1` and `--jobs {jobs}` identical: {lexical['jobs_output_identical']}.", "",
              f"Semantic tier, the first {semantic_tier['comments']:,} of those comments, whole process:", "",
              "| command | wall s | comments/s | share of the encoder alone |", "|---|---:|---:|---:|",
              f"| the sentence encoder alone (load {s['encoder_alone']['load_seconds']} s, encode "
              f"{s['encoder_alone']['encode_seconds']} s) | {s['encoder_alone']['wall_seconds']} | "
              f"{s['encoder_alone']['comments_per_s']:,} | 1 |"]
    for n in sorted({1, jobs}):
        key = f"ours_jobs_{n}"
        lines.append(f"| `moderation score --jobs {n}` | {s[key]['wall_seconds']} | {s[key]['comments_per_s']:,} | "
                     f"{semantic_tier['share_of_encoder_alone'][key]} |")
    lines += ["", "Dask, `LocalCluster` of single-threaded worker processes (cluster start-up excluded, the workers' "
              "model loading included):", "",
              "| tier | comments | partitions | 1 worker, comments/s | 2 workers, comments/s | speed-up | "
              "per worker, comments/s (2 workers) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for tier in ("lexical", "semantic"):
        d = report["dask"][tier]
        w = d["workers"]
        lines.append(f"| {tier} | {d['comments']:,} | {d['partitions']} | {w['1']['comments_per_s']:,} | "
                     f"{w['2']['comments_per_s']:,} | {w['speedup_2_over_1']} | {w['2']['per_worker_comments_per_s']:,} |")
    settings = report["settings"]
    lines += ["", f"{settings['cpus']} CPUs; load average (1, 5, 15 min) before {settings['load_average_before']}, "
              f"after {settings['load_average_after']}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bulk", description=__doc__.splitlines()[0])
    parser.add_argument("--lexical-model", type=Path, help="a lexical model version directory (default: train one)")
    parser.add_argument("--semantic-model", type=Path, help="a semantic model version directory (default: train one)")
    parser.add_argument("--comments", type=int, default=40_000)
    parser.add_argument("--semantic-comments", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bulk-") as scratch:
        scratch = Path(scratch)
        lexical_model = args.lexical_model or train(scratch, "off")
        semantic_model = args.semantic_model or train(scratch, "on")
        rows = news_comments(args.comments)
        data = write_jsonl(rows, scratch / "news.jsonl")
        semantic_data = write_jsonl(rows[:args.semantic_comments], scratch / "news-semantic.jsonl")
        load_before = os.getloadavg()
        report = {
            "settings": {"jobs": args.jobs, "rounds": args.rounds, "cpus": os.cpu_count(),
                         "load_average_before": [round(x, 2) for x in load_before]},
            "lexical": whole_process(data, len(rows), lexical_model, args.jobs, args.rounds, scratch),
            "semantic": semantic(semantic_data, args.semantic_comments, semantic_model, args.jobs, scratch),
            "dask": {"lexical": dask_curve(rows, lexical_model, 8, scratch),
                     "semantic": dask_curve(rows[:args.semantic_comments], semantic_model, 4, scratch)},
        }
    report["settings"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    report = json.loads(json.dumps(report))  # the curve's keys as JSON has them
    table = markdown(report)
    write_results("bulk", report, table)
    print(table)
    return report


if __name__ == "__main__":
    main()

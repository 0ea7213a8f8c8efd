"""Bulk scoring on a real Dask cluster of worker processes: the local path's scores, a killed worker survived,
no partition written twice, the model loaded once per worker."""
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

distributed = pytest.importorskip("distributed")  # the [dask] extra; `make test` installs it
pd = pytest.importorskip("pandas")

from moderation.bulk import loaded_models, score_files_on_dask, score_partition  # noqa: E402
from moderation.bulk.partitions import output_path, partition_meta  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.subprocess]


def _frames(rows: int, partitions: int) -> list:
    """Comments from data/ cycled to ``rows`` rows with ids of their own, whole articles per partition."""
    corpus = [json.loads(line) for line in (REPO / "data" / "comments.jsonl").read_text(encoding="utf-8").splitlines()]
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(rows)],
                          "text": [corpus[i % len(corpus)]["text"] for i in range(rows)],
                          "article_id": [corpus[i % len(corpus)]["article_id"] for i in range(rows)]})
    frame["parent_id"] = [f"r{i - 40}" if i % 9 == 5 else None for i in range(rows)]
    return [part.reset_index(drop=True) for part in
            (frame.iloc[i::partitions] for i in range(partitions))]


def _articles() -> dict[str, str]:
    rows = [json.loads(line) for line in (REPO / "data" / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    return {row["id"]: f"{row['title']}\n{row['body']}" for row in rows}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  worker_dashboard_address=None) as local, distributed.Client(local) as client:
        yield client


def _score_and_kill_a_worker(client, source: Path, out: Path, model_dir: Path, articles: dict) -> list[dict]:
    """Score on the cluster; once the first partition is written, kill a worker process outright."""
    done = {}
    runner = threading.Thread(target=lambda: done.setdefault(
        "summary", score_files_on_dask(client, source, out, model_dir, articles)))
    runner.start()
    while not any(out.glob("*.parquet")) and runner.is_alive():
        time.sleep(0.05)
    written_before = len(list(out.glob("*.parquet")))
    pids = client.run(os.getpid)
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    runner.join(timeout=600)
    assert "summary" in done
    assert written_before < len(done["summary"])  # the worker died mid-run
    return done["summary"]


def _check_against_local(partitions: list, source: Path, out: Path, model_dir: Path, articles: dict, summary):
    version = model_dir.name
    assert len(summary) == len(partitions)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        output_path(source / f"part-{i:02d}.parquet", out, version).name for i in range(len(partitions)))
    for i, frame in enumerate(partitions):
        scored = pd.read_parquet(output_path(source / f"part-{i:02d}.parquet", out, version))
        local = score_partition(frame, model_dir, articles)
        pd.testing.assert_frame_equal(scored, local)
        assert set(scored["model_version"]) == {version}
    assert sorted(s["partition"] for s in summary) == sorted(str(source / f"part-{i:02d}.parquet")
                                                              for i in range(len(partitions)))


def _write_partitions(partitions: list, source: Path) -> None:
    source.mkdir()
    for i, frame in enumerate(partitions):
        frame.to_parquet(source / f"part-{i:02d}.parquet", index=False)


def test_lexical_partitions_on_a_cluster_survive_a_killed_worker(cluster, tiny_registry, tmp_path):
    model_dir = tiny_registry.path(tiny_registry.current())
    partitions = _frames(100_000, 10)
    _write_partitions(partitions, tmp_path / "in")
    articles = _articles()
    summary = _score_and_kill_a_worker(cluster, tmp_path / "in", tmp_path / "out", model_dir, articles)
    _check_against_local(partitions, tmp_path / "in", tmp_path / "out", model_dir, articles, summary)
    for versions in cluster.run(loaded_models).values():  # the restarted worker too
        assert versions.count(model_dir.name) <= 1


def test_semantic_partitions_on_a_cluster(cluster, tiny_semantic_registry, tmp_path):
    model_dir = tiny_semantic_registry.path(tiny_semantic_registry.current())
    partitions = _frames(2_000, 4)
    _write_partitions(partitions, tmp_path / "in")
    articles = _articles()
    summary = score_files_on_dask(cluster, tmp_path / "in", tmp_path / "out", model_dir, articles)
    assert all(s["written"] for s in summary)
    _check_against_local(partitions, tmp_path / "in", tmp_path / "out", model_dir, articles, summary)
    again = score_files_on_dask(cluster, tmp_path / "in", tmp_path / "out", model_dir, articles)
    assert not any(s["written"] for s in again)  # a second run finds every partition written and writes none


def test_score_partition_works_with_dask_dataframe(cluster, tiny_registry):
    import dask.dataframe as dd

    model_dir = tiny_registry.path(tiny_registry.current())
    partitions = _frames(3_000, 3)
    frame = dd.from_pandas(pd.concat(partitions, ignore_index=True), npartitions=3, sort=False)
    scored = frame.map_partitions(score_partition, str(model_dir), meta=partition_meta(model_dir)).compute()
    assert len(scored) == 3_000 and set(scored["model_version"]) == {model_dir.name}


def test_the_score_command_on_a_cluster_writes_what_it_writes_locally(cluster, tiny_registry, tmp_path, capsys):
    from moderation.cli import main

    source = tmp_path / "in"
    source.mkdir()
    for i, frame in enumerate(_frames(400, 2)):
        (source / f"part-{i}.jsonl").write_text(frame.to_json(orient="records", lines=True), encoding="utf-8")
    address = cluster.scheduler.address
    with pytest.raises(SystemExit) as done:
        main(["score", "--model", str(tiny_registry.root), "--dask", address, "--output", str(tmp_path / "out"),
              str(source)])
    summaries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert done.value.code == 0 and [s["written"] for s in summaries] == [True, True]
    for i in range(2):
        with pytest.raises(SystemExit):
            main(["score", "--model", str(tiny_registry.root), "--jobs", "1", str(source / f"part-{i}.jsonl")])
        local = capsys.readouterr().out
        assert (tmp_path / "out" / f"part-{i}.{tiny_registry.current()}.jsonl").read_text(encoding="utf-8") == local

    (source / "part-1.jsonl").write_text('{"text": "fine"}\n{"text": 3}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as failed:
        main(["score", "--model", str(tiny_registry.root), "--dask", address, "--output", str(tmp_path / "again"),
              str(source)])
    err = capsys.readouterr().err
    assert failed.value.code == 2 and err.strip().splitlines() == [f"error: {source / 'part-1.jsonl'}:2: 'text' must "
                                                                   "be a non-empty string"]

"""Bulk scoring on one machine: the batch path gives the per-comment path's scores bit for bit, across processes too."""
import json
from pathlib import Path

import numpy as np
import pytest

from moderation.bulk import loaded_models, read_rows, records_in_context, score_chunks, scorer_for
from moderation.bulk.local import score_records
from moderation.bulk.records import chunked
from moderation.runtime.artifact import ArtifactError
from moderation.runtime.scorer import SMALL_BATCH

REPO = Path(__file__).resolve().parents[1]


def _rows(count: int) -> list[dict]:
    """Comments from data/ with their article and parent ids, cycled to ``count`` rows with ids of their own."""
    corpus = [json.loads(line) for line in (REPO / "data" / "comments.jsonl").read_text(encoding="utf-8").splitlines()]
    return [{"id": f"r{i}", "text": corpus[i % len(corpus)]["text"], "article_id": corpus[i % len(corpus)]["article_id"],
             "parent_id": f"r{i - 3}" if i % 7 == 3 else None} for i in range(count)]


@pytest.fixture
def scorer(tiny_registry):
    return scorer_for(tiny_registry.path(tiny_registry.current()))


def test_batch_scores_are_the_per_comment_scores_bit_for_bit(scorer):
    records = list(records_in_context(_rows(600)))
    comments = [r.comment for r in records]
    assert len(comments) > SMALL_BATCH and sum(bool(c.thread) for c in comments) > 500
    one_by_one = np.vstack([scorer.predict([c]) for c in comments])
    for size in (len(comments), 512, 100):
        batched = np.vstack([scorer.predict(comments[b:b + size]) for b in range(0, len(comments), size)])
        assert np.array_equal(batched, one_by_one)
    assert ([r["scores"] for r in score_records(scorer, records)]
            == [scorer.moderate([c], explain=False)[0].scores for c in comments])


def test_chunks_scored_in_worker_processes_are_scored_as_in_this_one(tiny_registry):
    model_dir = tiny_registry.path(tiny_registry.current())
    records = list(records_in_context(_rows(1200)))
    here = [line for lines in score_chunks(model_dir, chunked(records, 100), jobs=1) for line in lines]
    workers = [line for lines in score_chunks(model_dir, chunked(records, 100), jobs=2) for line in lines]
    assert workers == here and len(here) == 1200
    assert [json.loads(line)["id"] for line in here] == [r["id"] for r in _rows(1200)]


def test_a_process_loads_a_model_once_and_refuses_another_artifact(tiny_registry, tmp_path):
    model_dir = tiny_registry.path(tiny_registry.current())
    assert scorer_for(model_dir) is scorer_for(str(model_dir) + "/")
    assert loaded_models().count(tiny_registry.current()) == 1
    with pytest.raises(ArtifactError, match="not the 000000000000"):
        scorer_for(model_dir, "0" * 64)


def test_read_rows_names_the_line_or_hands_it_over(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "fine"}\n\n{"text": ""}\nnot json\n{"text": "also fine"}\n', encoding="utf-8")
    with open(path, encoding="utf-8") as handle, pytest.raises(ValueError, match=r"in\.jsonl:3: 'text'"):
        list(read_rows(handle, str(path)))
    skipped = []
    with open(path, encoding="utf-8") as handle:
        assert [r["text"] for r in read_rows(handle, str(path), skipped.append)] == ["fine", "also fine"]
    assert [str(e).split(":")[1] for e in skipped] == ["3", "4"]


def test_score_with_jobs_writes_what_one_process_writes(cli, tiny_registry, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in _rows(700)), encoding="utf-8")
    one, _ = cli("score", "--model", str(tiny_registry.root), "--jobs", "1", str(path))
    two, err = cli("score", "--model", str(tiny_registry.root), "--jobs", "2", "--batch-size", "64", str(path))
    assert one == two and len(one.splitlines()) == 700
    assert err == ""  # no progress bar when stderr is not a terminal


def test_a_bad_line_under_jobs_is_one_line_naming_it(cli, tiny_registry, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in _rows(300)) + "{oops\n", encoding="utf-8")
    _, err = cli("score", "--model", str(tiny_registry.root), "--jobs", "2", "--batch-size", "50", str(path),
                 expect=2)
    assert err.startswith(f"error: {path}:301: ") and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["--output", "out"], "--output goes with --dask"),
    (["--dask", "tcp://127.0.0.1:1"], "--dask needs INPUT"),
    (["--dask", "tcp://127.0.0.1:1", "--output", "out", "--explain", "in"], "--dask takes --articles"),
])
def test_dask_options_are_checked_in_one_line(cli, tiny_registry, argv, message):
    _, err = cli("score", "--model", str(tiny_registry.root), *argv, expect=2)
    assert message in err and len(err.strip().splitlines()) == 1


def test_score_partition_is_the_chunked_path_as_a_dataframe(tiny_registry):
    pd = pytest.importorskip("pandas")
    from moderation.bulk import partition_meta, score_partition

    model_dir = tiny_registry.path(tiny_registry.current())
    rows = _rows(300)
    frames = [pd.DataFrame(rows[:150]), pd.DataFrame(rows[150:])]  # as Spark's mapInPandas hands them over
    scored = pd.concat([score_partition(frame, model_dir) for frame in frames], ignore_index=True)
    assert list(scored.columns) == list(partition_meta(model_dir).columns)
    expected = [json.loads(line) for part in (rows[:150], rows[150:])
                for line in next(score_chunks(model_dir, [list(records_in_context(part))], jobs=1))]
    assert scored["id"].tolist() == [r["id"] for r in expected]
    for label in expected[0]["scores"]:
        assert scored[label].tolist() == [r["scores"][label] for r in expected]
    assert scored["decision"].tolist() == [r["decision"] for r in expected]
    with pytest.raises(ValueError, match="partition row 2: 'text'"):
        score_partition(pd.DataFrame([{"text": "fine"}, {"text": None}]), model_dir)


def test_partitions_of_two_runs_never_share_a_task_name(tmp_path):
    from moderation.bulk.partitions import _task_key

    keys = {_task_key(tmp_path / source / "part-0.jsonl", tmp_path / out, sha)
            for source in ("a", "b") for out in ("x", "y") for sha in ("1" * 64, "2" * 64)}
    assert len(keys) == 8

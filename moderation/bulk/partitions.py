"""Scoring partitions: a pandas DataFrame of comments (for ``dask.dataframe.map_partitions`` or Spark's
``mapInPandas``), and files of comments on a Dask cluster, one output file per input file.

Every worker process loads the model once (:func:`moderation.bulk.scorer_for`, checked against the artifact
hash the client scores with); the articles travel to each worker once. An output file is written under a
temporary name and linked into place only if no attempt wrote it before: a partition that Dask runs again
(its worker died) is never written twice.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..runtime.artifact import read_metadata
from .local import _score_lines, score_records, scorer_for
from .records import chunked, read_rows, records_in_context

FORMATS = (".jsonl", ".parquet")
BATCH = 512


def score_partition(frame, model_dir: str | Path, articles: dict[str, str] | None = None,
                    artifact_sha256: str | None = None):
    """Scores and decisions of a DataFrame of comments, as a DataFrame with one row per comment.

    The thread of a comment is made of the rows before it in the partition with its ``article_id``: partition
    by article (rows in the order posted) for threads to be whole.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``text`` and, optionally, ``id``, ``article_id``, ``parent_id``.
    model_dir : str or Path
        A model version directory, loaded once per process.
    articles : dict, optional
        Article texts by article id.
    artifact_sha256 : str, optional
        The artifact hash to insist on (default: whatever ``model_dir`` holds).

    Returns
    -------
    pandas.DataFrame
        ``id``, one float column per label, ``decision``, ``flags`` and ``reasons`` (JSON lists as text) and
        ``model_version``: the columns of :func:`partition_meta`.
    """
    import pandas as pd

    scorer = scorer_for(model_dir, artifact_sha256)
    rows = frame.to_dict("records")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row.get("text"), str) or not row["text"].strip():
            raise ValueError(f"partition row {number}: 'text' must be a non-empty string")
    out = []
    for chunk in chunked(records_in_context(rows, articles), BATCH):
        out += score_records(scorer, chunk)
    columns = {"id": [None if _missing(r["id"]) else str(r["id"]) for r in out]}
    columns.update((label, [r["scores"][label] for r in out]) for label in scorer.labels)
    columns.update(decision=[r["decision"] for r in out], flags=[json.dumps(r["flags"]) for r in out],
                   reasons=[json.dumps(r["reasons"]) for r in out], model_version=scorer.version)
    return pd.DataFrame(columns, columns=list(partition_meta(model_dir).columns))


def partition_meta(model_dir: str | Path):
    """An empty DataFrame with :func:`score_partition`'s columns and types (the ``meta`` of ``map_partitions``)."""
    import pandas as pd

    labels = read_metadata(Path(model_dir))["labels"]
    return pd.DataFrame({"id": pd.Series(dtype=object), **{label: pd.Series(dtype="float64") for label in labels},
                         **{c: pd.Series(dtype=object) for c in ("decision", "flags", "reasons", "model_version")}})


def _missing(value) -> bool:
    return value is None or value != value  # NaN from a column with gaps


def partition_files(source: Path) -> list[Path]:
    """The files of a directory (``*.jsonl`` or ``*.parquet``, sorted), or the one file given."""
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix in FORMATS)
        if not files:
            raise ValueError(f"{source}: no .jsonl or .parquet files to score")
        return files
    if not source.exists():
        raise ValueError(f"{source}: no such file or directory")
    if source.suffix not in FORMATS:
        raise ValueError(f"{source}: a partition is a .jsonl or .parquet file")
    return [source]


def output_path(source: Path, output_dir: Path, version: str) -> Path:
    """Where a partition's scores go: its name, the model version, its format."""
    return output_dir / f"{source.stem}.{version}{source.suffix}"


def score_file(source: str, output_dir: str, model_dir: str, artifact_sha256: str,
               articles: dict[str, str]) -> dict:
    """Score one partition file into ``output_dir`` unless an earlier attempt did; what was done, as a dict."""
    scorer = scorer_for(model_dir, artifact_sha256)
    source_path = Path(source)
    target = output_path(source_path, Path(output_dir), scorer.version)
    if target.exists():
        return {"partition": source, "output": str(target), "written": False}
    if source_path.suffix == ".parquet":
        import pandas as pd

        scored = score_partition(pd.read_parquet(source_path), model_dir, articles, artifact_sha256)
        rows = len(scored)
        write = lambda path: scored.to_parquet(path, index=False)  # noqa: E731
    else:
        with open(source_path, encoding="utf-8") as handle:
            lines = [line for chunk in chunked(records_in_context(read_rows(handle, source), articles), BATCH)
                     for line in _score_lines(model_dir, artifact_sha256, chunk, False, BATCH)]
        rows = len(lines)
        write = lambda path: Path(path).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")  # noqa: E731
    return {"partition": source, "output": str(target), "rows": rows, "written": _write_once(target, write)}


def _write_once(target: Path, write: Callable[[str], None]) -> bool:
    """Write ``target`` through a temporary file, linked into place only if it does not exist yet."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    try:
        write(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.link(temporary, target)  # fails if another attempt linked it first
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(temporary)


def _task_key(source: Path, output_dir: Path, artifact_sha256: str) -> str:
    """A partition's task name on the cluster: its file, where it goes and the model, so no two runs share one."""
    digest = hashlib.sha256(f"{source}\0{output_dir}\0{artifact_sha256}".encode()).hexdigest()[:16]
    return f"score-{source.name}-{digest}"


def score_files_on_dask(scheduler, source: str | Path, output_dir: str | Path, model_dir: str | Path,
                        articles: dict[str, str] | None = None, retries: int = 2,
                        on_done: Callable[[dict], None] | None = None) -> list[dict]:
    """Score every partition file of ``source`` on a Dask cluster, one output file per partition.

    Workers must see ``source``, ``output_dir`` and ``model_dir`` at the same paths (a shared file system).

    Parameters
    ----------
    scheduler : str or distributed.Client
        The scheduler's address (``tcp://host:8786``) or a client.
    source : str or Path
        A directory of ``.jsonl`` or ``.parquet`` files, or one such file.
    output_dir : str or Path
        Where ``<partition>.<model version>.<format>`` files go (created if missing).
    model_dir : str or Path
        A model version directory.
    articles : dict, optional
        Article texts by article id, sent to each worker once.
    retries : int
        Attempts of a partition beyond the first, besides Dask's own rescheduling of a lost worker's tasks.
    on_done : callable, optional
        Called with each partition's summary as it completes (progress).

    Returns
    -------
    list of dict
        Per partition: its file, its output file, its rows, and whether this run wrote it.
    """
    from distributed import Client, as_completed

    model_dir = str(Path(model_dir).resolve())
    output_dir = Path(output_dir).resolve()
    files = partition_files(Path(source).resolve())
    sha = read_metadata(Path(model_dir))["artifact_sha256"]
    output_dir.mkdir(parents=True, exist_ok=True)
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        [shared_articles] = client.scatter([articles or {}], broadcast=True)
        futures = [client.submit(score_file, str(path), str(output_dir), model_dir, sha, shared_articles,
                                 key=_task_key(path, output_dir, sha), retries=retries, pure=False)
                   for path in files]
        done = []
        for future in as_completed(futures):
            summary = future.result()
            done.append(summary)
            if on_done:
                on_done(summary)
        for leftover in output_dir.glob(".*.part"):  # an attempt killed while writing
            leftover.unlink(missing_ok=True)
        return sorted(done, key=lambda s: s["partition"])
    finally:
        if client is not scheduler:
            client.close()

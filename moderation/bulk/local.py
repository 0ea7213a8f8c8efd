"""Scoring chunks of comments on this machine: in this process, or across cores in joblib's worker processes.

A worker process loads each model once (:func:`scorer_for`), checked against the hash the caller expects,
and keeps it for every chunk after.
"""
from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..runtime.artifact import ArtifactError, load, read_metadata
from ..settings import THREAD_POOL_SETTINGS
from .records import Record

if TYPE_CHECKING:
    from ..runtime.scorer import Scorer

WAVE = 4  # chunks in flight per worker
IDLE_WORKER_SECONDS = 300  # as joblib's: workers stay for the next run in this process

_scorers: dict[tuple[str, str], Scorer] = {}


def scorer_for(model_dir: str | Path, artifact_sha256: str | None = None) -> "Scorer":
    """This process's scorer of a model version directory, loaded (and its file hashed) the first time only.

    Parameters
    ----------
    model_dir : str or Path
        A model version directory.
    artifact_sha256 : str, optional
        The artifact hash the caller scored with; a model directory holding another artifact is refused.

    Returns
    -------
    Scorer
    """
    path = str(Path(model_dir).resolve())
    expected = artifact_sha256 or read_metadata(Path(path))["artifact_sha256"]
    scorer = _scorers.get((path, expected))
    if scorer is None:
        from ..runtime.scorer import Scorer  # scikit-learn's import: where a model is loaded, not where rows are read

        artifact = load(path)  # hashes the model file and refuses one that does not match its metadata
        if artifact.metadata["artifact_sha256"] != expected:
            raise ArtifactError(f"{path}: holds artifact {artifact.metadata['artifact_sha256'][:12]}…, "
                                  f"not the {expected[:12]}… this run scores with")
        scorer = _scorers.setdefault((path, expected), Scorer(artifact))
    return scorer


def loaded_models() -> list[str]:
    """Versions of the models this process has loaded for bulk scoring (a worker should list each once)."""
    return [scorer.version for scorer in _scorers.values()]


def score_records(scorer: "Scorer", records: list[Record], explain: bool = False) -> list[dict]:
    """Output rows of a chunk: the comment's id, scores, flags, decision, reasons (spans if asked) and model version."""
    results = scorer.moderate([r.comment for r in records], explain=explain)
    rows = []
    for record, result in zip(records, results):
        row = {"id": record.id, **result.as_dict(), "model_version": scorer.version}
        if not explain:
            del row["spans"]
        rows.append(row)
    return rows


def _score_lines(model_dir: str, artifact_sha256: str, records: list[Record], explain: bool,
                 batch_size: int) -> list[str]:
    """A chunk's output rows as JSON text, in a worker (the encoding too is the worker's work)."""
    scorer = scorer_for(model_dir, artifact_sha256)
    lines = []
    for begin in range(0, len(records), batch_size):
        rows = score_records(scorer, records[begin:begin + batch_size], explain)
        lines += [json.dumps(row, ensure_ascii=False) for row in rows]
    return lines


def default_jobs() -> int:
    """All the cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def score_chunks(model_dir: str | Path, chunks: Iterable[list[Record]], jobs: int | None = None,
                 explain: bool = False, batch_size: int = 512) -> Iterator[list[str]]:
    """Each chunk's output rows as JSON text, chunks in order, scored by ``jobs`` processes.

    With one job the chunks are scored in this process; with more, joblib's loky worker processes score them,
    ``WAVE`` chunks per worker in flight, so memory holds a few chunks whatever the input's size. Each worker
    starts loading the model before the first chunk is read, and a chunk is sent as soon as it is read (its
    scores come back in order). Scores are those of :meth:`Scorer.moderate` on the same comments, bit for bit:
    each comment's features depend on it and its context alone.

    Parameters
    ----------
    model_dir : str or Path
        A model version directory.
    chunks : iterable of list of Record
        The comments, chunk by chunk (see :func:`records_in_context`).
    jobs : int, optional
        Processes; default all cores.
    explain : bool
        Add each flag's spans.
    batch_size : int
        Comments per :meth:`Scorer.moderate` call within a chunk.

    Yields
    ------
    list of str
        One JSON object per comment.
    """
    model_dir = str(Path(model_dir).resolve())
    sha = read_metadata(Path(model_dir))["artifact_sha256"]
    jobs = jobs or default_jobs()
    if jobs == 1:
        scorer_for(model_dir, sha)  # a model that cannot load stops the run before its input is read
        for chunk in chunks:
            yield _score_lines(model_dir, sha, chunk, explain, batch_size)
        return
    from joblib.externals.loky import get_reusable_executor

    threads = str(max(default_jobs() // jobs, 1))  # each worker's thread pools: its share of the cores, as joblib's
    executor = get_reusable_executor(max_workers=jobs, timeout=IDLE_WORKER_SECONDS,
                                     env={name: os.environ.get(name, threads) for name in THREAD_POOL_SETTINGS})
    # An empty chunk loads the model: the workers load it while this process reads the first chunks.
    loading = [executor.submit(_score_lines, model_dir, sha, [], explain, batch_size) for _ in range(jobs)]
    in_flight = deque()
    try:
        for chunk in chunks:  # drawn in this thread, so that a bad input line is raised here
            in_flight.append(executor.submit(_score_lines, model_dir, sha, chunk, explain, batch_size))
            while in_flight and (len(in_flight) > WAVE * jobs or in_flight[0].done()):
                yield in_flight.popleft().result()
        for future in loading:
            future.result()  # a model that cannot load stops the run, even one with no input
        while in_flight:
            yield in_flight.popleft().result()
    finally:  # a run stopped early (a bad line, a closed output) leaves no chunks to its workers
        for future in in_flight:
            future.cancel()

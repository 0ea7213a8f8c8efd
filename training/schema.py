"""The training-data schema: one comment a row, labels as 0/1 or rater fractions, blank = unknown."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from moderation.errors import InvalidInput
from moderation.files import json_lines
from moderation.model.labels import LABELS

ID_COLUMNS = ("id", "article_id", "parent_id")
# Optional: the characters of the text that people marked as carrying its toxicity (as Civil Comments toxic
# spans does), a list of [begin, end) offsets; blank where nobody marked any. Training learns from them.
SPANS = "spans"
COLUMNS = ("text", *ID_COLUMNS, *LABELS, "source", SPANS)


class DataError(InvalidInput, ValueError):
    """Bad training or scoring input; the message names the file and, where known, the line."""


def conform(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Return ``frame`` with exactly the schema columns, typed: ids as strings, labels as float (NaN = unknown)."""
    out = pd.DataFrame(index=frame.index)
    out["text"] = frame["text"].astype(object)
    for column in ID_COLUMNS:
        if column in frame:
            out[column] = pd.Series([_id_string(v) for v in frame[column]], index=frame.index, dtype=object)
        else:
            out[column] = None
    for label in LABELS:
        out[label] = pd.to_numeric(frame[label], errors="raise").astype(float) if label in frame else np.nan
    out["source"] = frame["source"] if "source" in frame else source
    out[SPANS] = ([span_ranges(value, text) for value, text in zip(frame[SPANS], frame["text"])]
                  if SPANS in frame else None)
    return out.reset_index(drop=True)


def span_ranges(value, text: str) -> tuple[tuple[int, int], ...] | None:
    """A ``spans`` cell as sorted ``(begin, end)`` pairs within ``text``, or None where blank or empty.

    The cell is a list of ``[begin, end]`` pairs, or its JSON text (as a CSV file holds it). Raises ValueError
    saying what is wrong with it.
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{SPANS!r} must be a JSON list of [begin, end] pairs, got {value[:40]!r}") from None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(pair, (list, tuple)) and len(pair) == 2 and all(type(x) is int for x in pair) for pair in value):
        raise ValueError(f"{SPANS!r} must be a list of [begin, end] pairs of integers, got {value!r}"[:200])
    ranges = tuple(sorted((begin, end) for begin, end in value))
    for begin, end in ranges:
        if not 0 <= begin < end <= len(text):
            raise ValueError(f"{SPANS!r} pair [{begin}, {end}] is not a range within the text ({len(text)} characters)")
    return ranges or None


def label_values(column: pd.Series) -> tuple[pd.Series, int | None]:
    """A label column as numbers, and the position of its first value that is neither blank nor in [0, 1] (or None)."""
    values = pd.to_numeric(column, errors="coerce")
    bad = (column.notna() & values.isna()) | (values < 0) | (values > 1)
    return values, int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else None


def _id_string(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or JSONL file into a frame, raising DataError that names the file and line."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8") as handle:
            try:
                return pd.DataFrame([row for _, row in json_lines(handle, path)])
            except ValueError as error:
                raise DataError(str(error)) from None
    if suffix in (".csv", ".tsv"):
        try:
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype={c: str for c in ID_COLUMNS})
        except (pd.errors.ParserError, UnicodeDecodeError) as error:
            raise DataError(f"{path}: cannot parse as {suffix[1:].upper()} ({error})") from None
    raise DataError(f"{path}: unknown file type {suffix!r} (expected .csv, .tsv or .jsonl)")


def read_comments(path: str | Path) -> pd.DataFrame:
    """Read comments in the project's schema from a CSV or JSONL file.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.tsv`` or ``.jsonl`` file with a ``text`` column, any of the label columns and optionally
        ``spans`` (see :func:`span_ranges`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`; labels are floats in [0, 1] or NaN where unknown.
    """
    path = Path(path)
    frame = _read_table(path)
    if "text" not in frame:
        raise DataError(f"{path}: no 'text' column")
    line_offset = 2 if path.suffix.lower() in (".csv", ".tsv") else 1
    for position, text in enumerate(frame["text"]):
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{path}:{position + line_offset}: empty or missing text")
    for label in LABELS:
        if label not in frame:
            continue
        values, position = label_values(frame[label])
        if position is not None:
            raise DataError(
                f"{path}:{position + line_offset}: label {label!r} must be blank or a number in [0, 1], "
                f"got {frame[label].iloc[position]!r}"
            )
        frame[label] = values
    if SPANS in frame:
        ranges = []
        for position, (value, text) in enumerate(zip(frame[SPANS], frame["text"])):
            try:
                ranges.append(span_ranges(value, text))
            except ValueError as error:
                raise DataError(f"{path}:{position + line_offset}: {error}") from None
        frame[SPANS] = pd.Series(ranges, index=frame.index, dtype=object)  # parsed once here
    return conform(frame, source=path.stem)


def read_articles(path: str | Path) -> dict[str, dict]:
    """Read articles (``id``, ``title``, ``body``) from CSV or JSONL into a dict keyed by article id."""
    path = Path(path)
    frame = _read_table(path)
    for column in ("id", "title"):
        if column not in frame:
            raise DataError(f"{path}: articles need an {column!r} column")
    articles = {}
    for row in frame.to_dict("records"):
        article_id = _id_string(row.get("id"))
        if article_id is None:
            raise DataError(f"{path}: an article has no id")
        body = row.get("body")
        articles[article_id] = {
            "id": article_id,
            "title": str(row.get("title") or ""),
            "body": body if isinstance(body, str) else "",
        }
    return articles


"""Articles given to the scorer: read from JSONL or CSV files with ``id``, ``title``, ``body``."""
from __future__ import annotations

import csv
import json
from pathlib import Path


def article_text(title: str | None, body: str | None) -> str | None:
    """The text an article is compared with: its title, then its body."""
    return "\n".join(part for part in (title, body) if part) or None


def read_article_texts(path: str | Path) -> dict[str, str]:
    """Article texts keyed by id, from a ``.jsonl`` or ``.csv`` file; ValueError names the file and line."""
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as error:
        raise ValueError(f"{path}: cannot open ({error.strerror})") from None
    texts = {}
    with handle:
        if path.suffix.lower() == ".csv":
            rows = enumerate(csv.DictReader(handle), start=2)
        else:
            rows = ((n, _json_line(path, n, line)) for n, line in enumerate(handle, start=1) if line.strip())
        try:
            for number, row in rows:
                if row.get("id") in (None, ""):
                    raise ValueError(f"{path}:{number}: article without an id")
                texts[str(row["id"])] = article_text(row.get("title"), row.get("body")) or ""
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not valid UTF-8") from None
    return texts


def _json_line(path: Path, number: int, line: str) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{number}: invalid JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise ValueError(f"{path}:{number}: expected a JSON object")
    return row

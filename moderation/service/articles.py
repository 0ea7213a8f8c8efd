"""Articles given to the scorer: from the store through a per-process cache, or from JSONL/CSV files."""
from __future__ import annotations

import csv
import threading
import time
from collections import OrderedDict
from pathlib import Path

from ..files import json_lines
from ..model.comment import article_text
from ..store import Store
from ..store.models import Article


class ArticleCache:
    """Articles' texts and policies by id, read from the store at most once per ``ttl_seconds`` per process.

    ``PUT /v1/articles/{id}`` on this process takes effect at once (:meth:`forget`); on other processes
    within ``ttl_seconds``. Unknown ids are cached too, so a burst of comments on an article not yet
    registered costs one read.
    """

    def __init__(self, store: Store, ttl_seconds: float = 5.0, max_articles: int = 10_000):
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.max_articles = max_articles
        self._cache: OrderedDict[str, tuple[float, str | None, dict | None, dict | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, article_ids: list[str]) -> dict[str, tuple[str | None, dict | None, dict | None]]:
        """(text, policy, author policy) of each known article; unknown ones are left out. Raises StoreUnavailable."""
        now = time.monotonic()
        with self._lock:
            missing = [a for a in article_ids if a not in self._cache or now - self._cache[a][0] >= self.ttl_seconds]
        if missing:
            with self.store.session() as session:
                records = {a: session.get(Article, a) for a in missing}
                fresh = {a: (now, article_text(r.title, r.body), r.policy, r.author_policy) if r
                         else (now, None, None, None) for a, r in records.items()}
            with self._lock:
                self._cache.update(fresh)
                for article_id in fresh:
                    self._cache.move_to_end(article_id)
                while len(self._cache) > self.max_articles:
                    self._cache.popitem(last=False)
        with self._lock:
            entries = {a: self._cache.get(a) for a in article_ids}
        return {a: e[1:] for a, e in entries.items() if e is not None and (e[1] is not None or e[2] or e[3])}

    def forget(self, article_id: str) -> None:
        with self._lock:
            self._cache.pop(article_id, None)


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
            rows = json_lines(handle, path)
        try:
            for number, row in rows:
                if row.get("id") in (None, ""):
                    raise ValueError(f"{path}:{number}: article without an id")
                texts[str(row["id"])] = article_text(row.get("title"), row.get("body")) or ""
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not valid UTF-8") from None
    return texts


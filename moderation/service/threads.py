"""Thread memory: the most recent comments on each article, kept as context for scoring the next ones.

The store holds every process's memory; :class:`ThreadMemory` keeps a per-process copy in front of it so
that scoring a comment costs no database round trip for its thread. Reads load an article's thread once
and then pick up what other processes added (``id > last seen``) at most every ``refresh_seconds``.
Writes join the local copy at once and reach the store behind the response: a background thread inserts
everything remembered in the last ``flush_seconds`` in one transaction. A process killed between two
flushes forgets that interval's thread context (the comments themselves are the comment system's; the
ones kept for review are written before the response, by :mod:`moderation.review.queue`).
"""
from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..store import Store, StoreUnavailable
from ..store.models import Article, ThreadEntry, utcnow

log = logging.getLogger(__name__)
MAX_PENDING = 50_000  # remembered entries waiting for the store; beyond this the oldest are dropped


def article_record(store: Store, article_id: str) -> Article | None:
    with store.session() as session:
        return session.get(Article, article_id)


def recent_in(session: Session, article_id: str, limit: int) -> list[tuple[str, str]]:
    """(comment id, text) of the last ``limit`` remembered comments on an article, oldest first."""
    return [(c, t) for _, c, t in _newest(session, article_id, limit)]


def recent(store: Store, article_id: str, limit: int) -> list[tuple[str, str]]:
    with store.session() as session:
        return recent_in(session, article_id, limit)


def parent_texts_in(session: Session, comment_ids: list[str]) -> dict[str, str]:
    """Texts of remembered comments by id (the latest entry where an id was remembered twice)."""
    if not comment_ids:
        return {}
    rows = session.execute(select(ThreadEntry.comment_id, ThreadEntry.text)
                           .where(ThreadEntry.comment_id.in_(comment_ids)).order_by(ThreadEntry.id)).all()
    return {r.comment_id: r.text for r in rows}


def _newest(session, article_id: str, limit: int) -> list[tuple[int, str, str]]:
    rows = session.execute(select(ThreadEntry.id, ThreadEntry.comment_id, ThreadEntry.text)
                           .where(ThreadEntry.article_id == article_id)
                           .order_by(ThreadEntry.id.desc()).limit(limit)).all()
    return [tuple(r) for r in reversed(rows)]


def _since(session, article_id: str, last_id: int) -> list[tuple[int, str, str]]:
    rows = session.execute(select(ThreadEntry.id, ThreadEntry.comment_id, ThreadEntry.text)
                           .where(ThreadEntry.article_id == article_id, ThreadEntry.id > last_id)
                           .order_by(ThreadEntry.id)).all()
    return [tuple(r) for r in rows]


@dataclass
class _Thread:
    """One article's recent comments as this process knows them."""

    entries: OrderedDict = field(default_factory=OrderedDict)  # comment id -> text, oldest first
    last_id: int = 0  # newest store row seen
    checked: float = float("-inf")  # when the store was last asked
    loaded: bool = False  # the store's newest entries have been read once

    def merge(self, rows: list[tuple[int, str, str]], keep: int) -> None:
        """Take in store rows: the newest ones on the first read (before anything remembered here), then
        rows added since by other processes."""
        if not self.loaded:
            local, self.entries = self.entries, OrderedDict()
            for comment_id, text in [(c, t) for _, c, t in rows] + list(local.items()):
                self.add(comment_id, text, keep)
            self.loaded = True
        else:
            for row_id, comment_id, text in rows:
                if row_id > self.last_id and comment_id not in self.entries:
                    self.add(comment_id, text, keep)
        self.last_id = max([self.last_id, *(row_id for row_id, _, _ in rows)])

    def add(self, comment_id: str, text: str, keep: int) -> None:
        self.entries.pop(comment_id, None)
        self.entries[comment_id] = text
        while len(self.entries) > keep:
            self.entries.popitem(last=False)


class ThreadMemory:
    """The last ``keep`` comments of each article: a per-process cache over the store, written behind.

    Parameters
    ----------
    store : Store
    keep : int
        Comments remembered per article (the store keeps between ``keep`` and ``2 * keep``).
    refresh_seconds : float
        How stale this process's copy of a thread may be with respect to other processes' comments.
    flush_seconds : float
        Delay before remembered comments are written; 0 writes them before :meth:`remember` returns.
    max_articles : int
        Articles whose threads this process caches (least recently used ones are dropped).
    """

    def __init__(self, store: Store, keep: int = 50, refresh_seconds: float = 1.0, flush_seconds: float = 0.05,
                 max_articles: int = 2_000):
        self.store = store
        self.keep = keep
        self.refresh_seconds = refresh_seconds
        self.flush_seconds = flush_seconds
        self.max_articles = max_articles
        self._threads: OrderedDict[str, _Thread] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: list[dict] = []
        self._wake = threading.Condition()
        self._writer: threading.Thread | None = None
        self._since_trim: dict[str, int] = {}
        self._write_lock = threading.Lock()  # the writer thread and flush() may write at once
        self._closed = False

    def threads(self, article_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
        """(comment id, text) of each article's recent comments, oldest first.

        When the store is down, what this process already knows is used (and an article it never read has
        an empty thread).
        """
        now = time.monotonic()
        with self._lock:
            stale = [(a, self._threads[a].last_id if a in self._threads and self._threads[a].loaded else None)
                     for a in article_ids
                     if a not in self._threads or now - self._threads[a].checked >= self.refresh_seconds]
        if stale:
            try:
                with self.store.session() as session:
                    fetched = {a: _newest(session, a, self.keep) if last is None else _since(session, a, last)
                               for a, last in stale}
            except StoreUnavailable as error:
                log.warning("store unavailable, scoring with this process's thread memory: %s", error)
                fetched = {}
            with self._lock:
                for article_id, _ in stale:  # asked once per refresh_seconds, whether or not it answered
                    self._thread(article_id).checked = now
                for article_id, rows in fetched.items():
                    self._thread(article_id).merge(rows, self.keep)
        with self._lock:
            return {a: list(self._threads[a].entries.items()) if a in self._threads else [] for a in article_ids}

    def parents(self, article_ids: list[str | None], comment_ids: list[str]) -> dict[str, str]:
        """Texts of the given comments: from the cached threads of ``article_ids`` when there, else the store."""
        found = {}
        with self._lock:
            for article_id, comment_id in zip(article_ids, comment_ids):
                thread = self._threads.get(article_id) if article_id is not None else None
                if thread is not None and comment_id in thread.entries:
                    found[comment_id] = thread.entries[comment_id]
        missing = sorted(set(comment_ids) - set(found))
        if missing:
            try:
                with self.store.session() as session:
                    found.update(parent_texts_in(session, missing))
            except StoreUnavailable as error:
                log.warning("store unavailable, parents not found: %s", error)
        return found

    def remember(self, entries: list[tuple[str, str, str]]) -> None:
        """Add (article id, comment id, text) entries to the threads, and to the store shortly after."""
        if not entries:
            return
        now = utcnow()
        with self._lock:
            for article_id, comment_id, text in entries:
                self._thread(article_id).add(comment_id, text, self.keep)
        rows = [{"article_id": a, "comment_id": c, "text": t, "created_at": now} for a, c, t in entries]
        if self.flush_seconds <= 0 or self._closed:
            self._write(rows)
            return
        with self._wake:
            self._pending.extend(rows)
            if len(self._pending) > MAX_PENDING:
                dropped = len(self._pending) - MAX_PENDING
                del self._pending[:dropped]
                log.warning("thread memory: %d entries not written (the store is behind)", dropped)
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write_behind, name="thread-memory", daemon=True)
                self._writer.start()
                atexit.register(self.flush)  # a worker stopping gracefully writes what it holds
            self._wake.notify()

    def close(self) -> None:
        """Stop the writer thread and write what is pending: the app is done with its store."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self._writer is not None:
            self._writer.join(timeout=10)
        self.flush()

    def flush(self) -> bool:
        """Write every pending entry now; False when the store is down, and they wait for the next attempt."""
        with self._wake:
            rows, self._pending = self._pending, []
        try:
            self._write(rows)
        except StoreUnavailable as error:
            with self._wake:
                self._pending[:0] = rows  # kept for the next attempt, within MAX_PENDING
            log.warning("store unavailable, %d thread entries wait: %s", len(rows), error)
            return False
        return True

    def _thread(self, article_id: str) -> _Thread:
        thread = self._threads.get(article_id)
        if thread is None:
            thread = self._threads[article_id] = _Thread()
            while len(self._threads) > self.max_articles:
                self._threads.popitem(last=False)
        else:
            self._threads.move_to_end(article_id)
        return thread

    def _write_behind(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                # Gather what arrives meanwhile into the same transaction; close() ends the wait.
                if self._closed or self._wake.wait_for(lambda: self._closed, timeout=self.flush_seconds):
                    return  # close() writes what is pending
            try:
                if not self.flush():
                    with self._wake:
                        self._wake.wait_for(lambda: self._closed, timeout=1.0)
            except Exception:  # the writer must outlive any one bad batch
                log.exception("thread memory write failed; a batch of entries was dropped")

    def _write(self, rows: list[dict]) -> None:
        """Insert entries and trim articles that gained ``keep`` entries since their last trim."""
        if not rows:
            return
        with self._write_lock, self.store.session() as session:
            session.execute(insert(ThreadEntry), rows)
            for article_id in {row["article_id"] for row in rows}:
                count = self._since_trim.get(article_id, 0) + sum(r["article_id"] == article_id for r in rows)
                if count < self.keep:
                    self._since_trim[article_id] = count
                    continue
                self._since_trim.pop(article_id, None)
                cutoff = session.scalar(select(ThreadEntry.id).where(ThreadEntry.article_id == article_id)
                                        .order_by(ThreadEntry.id.desc()).offset(self.keep).limit(1))
                if cutoff is not None:
                    session.execute(delete(ThreadEntry).where(ThreadEntry.article_id == article_id,
                                                              ThreadEntry.id <= cutoff))

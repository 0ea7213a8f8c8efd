"""Word lists: words, phrases and patterns a site rejects or holds, matched through the obfuscations the model reads.

Matching runs on the model's normalised text (look-alikes, leetspeak, spaced-out and masked letters), by whole
words, and reports offsets into the original text. A plain entry is a sequence of words looked up in a hash
index, so a comment costs one dictionary look-up per word whatever the list's size
(``benchmarks/wordlists.py`` measures it against one compiled regular expression of every entry); pattern
entries are one regular expression per list.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select

from ..errors import InvalidInput
from ..model.text import normalize, normalize_recent, normalize_with_offsets
from ..runtime.policy import REJECT, REVIEW, Decision
from ..store import Store
from ..store.models import WordList

WORD_RE = re.compile(r"\w+(?:'\w+)*")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
MAX_ENTRIES = 100_000
_SEVERITY = {REVIEW: 1, REJECT: 2}


class WordListError(InvalidInput, ValueError):
    """A word list that cannot be used: a bad name, an invalid pattern, an entry with no words."""


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1, max_length=500, description="A word or phrase, or a pattern when `regex`.")
    regex: bool = False
    action: Literal["reject", "review"] = "review"
    reason: str | None = Field(None, max_length=64, description="A reason code, e.g. ABUSIVE or SPAM.")


class WordListIn(BaseModel):
    """A word list's entries, and the articles it applies to (every article when absent)."""

    model_config = ConfigDict(extra="forbid")

    entries: list[Entry] = Field(max_length=MAX_ENTRIES)
    article_ids: list[str] | None = Field(None, description="Only comments on these articles; null: every comment.")


def parse(body, name: str) -> WordListIn:
    """A validated word list; WordListError (422) names the bad entry, e.g. ``entries.3.text``."""
    if not NAME_RE.fullmatch(name):
        raise WordListError("A word list's name is 1 to 100 letters, digits, '.', '_' or '-'.", field="name")
    if not isinstance(body, dict):
        raise WordListError("The body must be an object with 'entries'.", field="")
    try:
        word_list = WordListIn.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise WordListError(f"{where}: {first['msg']}", field=where) from None
    compile_list(name, word_list.entries)
    return word_list


@dataclass(frozen=True)
class Match:
    list: str
    entry: Entry
    begin: int  # offsets into the original text
    end: int

    def reason(self) -> dict:
        reason = {"rule": "wordlist", "list": self.list, "entry": self.entry.text, "begin": self.begin,
                  "end": self.end, "action": self.entry.action}
        if self.entry.reason:
            reason["reason"] = self.entry.reason
        return reason


class CompiledList:
    """One list's entries, ready to match: a word-sequence index and one pattern of every regex entry."""

    def __init__(self, name: str, entries: list[Entry], article_ids: list[str] | None):
        self.name = name
        self.article_ids = None if article_ids is None else frozenset(article_ids)
        self.words: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}
        patterns = []
        for i, entry in enumerate(entries):
            if entry.regex:
                patterns.append((f"e{i}", entry))
                continue
            words = tuple(WORD_RE.findall(normalize(entry.text)))
            self.words.setdefault(words[0], []).append((words, entry))
        self.patterns = {group: entry for group, entry in patterns}
        self.pattern = re.compile("|".join(f"(?<!\\w)(?P<{group}>{entry.text})(?!\\w)" for group, entry in patterns),
                                  re.IGNORECASE) if patterns else None

    def applies_to(self, article_id: str | None) -> bool:
        return self.article_ids is None or article_id in self.article_ids

    def find(self, normalized: str, words: list[re.Match]) -> list[tuple[int, int, Entry]]:
        """(start, end, entry) in ``normalized`` of every match."""
        found = []
        for i, word in enumerate(words):
            for sequence, entry in self.words.get(word.group(), ()):
                if len(sequence) == 1:
                    found.append((word.start(), word.end(), entry))
                elif tuple(w.group() for w in words[i:i + len(sequence)]) == sequence:
                    found.append((word.start(), words[i + len(sequence) - 1].end(), entry))
        if self.pattern is not None:
            for match in self.pattern.finditer(normalized):
                if match.end() > match.start():
                    found.append((match.start(), match.end(), self.patterns[match.lastgroup]))
        return found


def compile_list(name: str, entries: list[Entry], article_ids: list[str] | None = None) -> CompiledList:
    """A list ready to match; WordListError names the first entry that cannot be matched."""
    for i, entry in enumerate(entries):
        if entry.regex:
            try:
                pattern = re.compile(entry.text)
            except re.error as error:
                raise WordListError(f"entries.{i}: {entry.text!r} is not a valid regular expression ({error})",
                                    field=f"entries.{i}.text") from None
            if pattern.match(""):
                raise WordListError(f"entries.{i}: {entry.text!r} matches empty text", field=f"entries.{i}.text")
        elif not WORD_RE.search(normalize(entry.text)):
            raise WordListError(f"entries.{i}: {entry.text!r} has no word to match", field=f"entries.{i}.text")
    try:
        return CompiledList(name, entries, article_ids)
    except re.error as error:  # valid alone, not beside the others (a global flag such as (?i) mid-pattern)
        raise WordListError(f"entries: the patterns cannot be combined ({error}); use no inline global flags or "
                            "group names", field="entries") from None


class Matcher:
    """Every stored list, compiled."""

    def __init__(self, lists: list[CompiledList]):
        self.lists = lists

    def find(self, text: str, article_id: str | None = None) -> list[Match]:
        """Matches of the lists that apply to a comment on ``article_id``, in text order."""
        lists = [compiled for compiled in self.lists if compiled.applies_to(article_id)]
        if not lists:
            return []
        # The scorer has just normalised this text (normalize_recent keeps it); offsets only for a match.
        normalized = normalize_recent(text)
        words = list(WORD_RE.finditer(normalized))
        found = [(compiled.name, start, end, entry) for compiled in lists
                 for start, end, entry in compiled.find(normalized, words)]
        if not found:
            return []
        _, begins, ends = normalize_with_offsets(text)
        return sorted((Match(name, entry, begins[start], ends[end - 1]) for name, start, end, entry in found),
                      key=lambda m: (m.begin, m.end, m.list))


EMPTY = Matcher([])


def decide(decision: Decision, matches: list[Match]) -> Decision:
    """The decision after word-list matches: each holds or rejects as its entry says, and is a reason."""
    if not matches:
        return decision
    action = max((m.entry.action for m in matches), key=_SEVERITY.__getitem__)
    current = decision.decision if decision.decision in _SEVERITY else None
    final = action if current is None or _SEVERITY[action] > _SEVERITY[current] else current
    return Decision(final, decision.flags, [m.reason() for m in matches] + list(decision.reasons))


class WordListCache:
    """The stored lists compiled, re-read at most once per ``ttl_seconds`` per process when they changed.

    A list written through this process takes effect at once (:meth:`forget`); through another within
    ``ttl_seconds``, as articles do.
    """

    def __init__(self, store: Store, ttl_seconds: float = 5.0):
        self.store = store
        self.ttl_seconds = ttl_seconds
        self._matcher = EMPTY
        self._version = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def matcher(self) -> Matcher:
        """The current lists; raises StoreUnavailable when they must be re-read and cannot be."""
        if time.monotonic() - self._checked < self.ttl_seconds:
            return self._matcher
        with self._lock:
            now = time.monotonic()
            if now - self._checked < self.ttl_seconds:
                return self._matcher
            with self.store.session() as session:
                version = tuple(session.execute(select(func.count(), func.max(WordList.updated_at))).one())
                if version != self._version:
                    lists = [CompiledList(r.name, [Entry.model_validate(e) for e in r.entries], r.article_ids)
                             for r in session.scalars(select(WordList).order_by(WordList.name))]
                    self._matcher, self._version = Matcher(lists), version
            self._checked = now
            return self._matcher

    @property
    def last(self) -> Matcher:
        """The lists as last read, whatever their age."""
        return self._matcher

    def forget(self) -> None:
        with self._lock:
            self._checked = float("-inf")


def put(store: Store, name: str, word_list: WordListIn) -> tuple[WordList, bool]:
    """Create or replace a list; returns it and whether it was created."""
    with store.session() as session:
        record = session.get(WordList, name)
        created = record is None
        if created:
            record = WordList(name=name)
            session.add(record)
        record.entries = [entry.model_dump(exclude_defaults=True) | {"text": entry.text}
                          for entry in word_list.entries]
        record.article_ids = word_list.article_ids
        session.flush()
        return record, created


def get(store: Store, name: str) -> WordList | None:
    with store.session() as session:
        return session.get(WordList, name)


def delete(store: Store, name: str) -> bool:
    """Remove a list; False when there was none."""
    with store.session() as session:
        record = session.get(WordList, name)
        if record is None:
            return False
        session.delete(record)
        return True


def as_json(record: WordList) -> dict:
    return {"name": record.name, "entries": [Entry.model_validate(e).model_dump() for e in record.entries],
            "article_ids": record.article_ids, "updated_at": record.updated_at.isoformat()}

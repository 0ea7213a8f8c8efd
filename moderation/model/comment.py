"""A comment to score and the context it was posted in: its article, the comments before it, its parent."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

MAX_THREAD = 50  # earlier comments of a thread that count as its context


@dataclass(frozen=True)
class Comment:
    """One comment to score, with the context it was posted in (all optional)."""

    text: str
    article: str | None = None
    thread: tuple[str, ...] = ()
    parent: str | None = None


def as_comments(X) -> list[Comment]:
    """Accept comments as ``Comment`` records or plain strings."""
    return [x if isinstance(x, Comment) else Comment(str(x)) for x in X]


def article_text(title: str | None, body: str | None) -> str | None:
    """The text an article is compared with: its title, then its body."""
    return "\n".join(part for part in (title, body) if part) or None


class ThreadContext:
    """Comments in the order they were posted, each in its context: its article's text, the last ``keep``
    comments on that article before it (not itself, should it come again) and its parent's text.

    Parameters
    ----------
    keep : int
        Earlier comments of a thread that count as context.
    threads : dict, optional
        What came before: article id -> [(comment id, text)], oldest first.
    texts : dict, optional
        Texts of comments that may be parents, by comment id; every comment seen joins them.
    max_texts : int, optional
        Remember at most this many comments as possible parents (the oldest are forgotten) and, per article,
        only the last ``keep + 1`` comments: bounded memory for a backlog read end to end. A thread is then
        the one an unbounded context gives unless a comment id comes again more than once in it.
    """

    def __init__(self, keep: int = MAX_THREAD, threads: dict | None = None, texts: dict | None = None,
                 max_texts: int | None = None):
        self.keep = keep
        self.threads = {article_id: list(entries) for article_id, entries in (threads or {}).items()}
        self.texts = OrderedDict(texts or {})  # forgetting the oldest is O(1), not a scan past deleted slots
        self.max_texts = max_texts

    def comment(self, text: str, comment_id: str | None = None, article_id: str | None = None,
                parent_id: str | None = None, article: str | None = None) -> Comment:
        """The comment in its context; from now on it is part of the context of the comments after it."""
        thread = self.threads.setdefault(article_id, []) if article_id is not None else []
        earlier = []  # the last ``keep`` before it, looked for from the end: a backlog's threads grow long
        for c, t in reversed(thread):
            if len(earlier) == self.keep:
                break
            if comment_id is None or c != comment_id:
                earlier.append(t)
        parent = self.texts.get(parent_id) if parent_id is not None else None
        if article_id is not None:
            thread.append((comment_id, text))
            if self.max_texts is not None and len(thread) > 2 * (self.keep + 1):
                del thread[:-(self.keep + 1)]
        if comment_id is not None:
            self.texts[comment_id] = text
            if self.max_texts is not None and len(self.texts) > self.max_texts:
                self.texts.popitem(last=False)
        return Comment(text, article, tuple(reversed(earlier)), parent)

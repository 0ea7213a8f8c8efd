"""A comment to score and the context it was posted in: its article, the comments before it, its parent."""
from __future__ import annotations

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

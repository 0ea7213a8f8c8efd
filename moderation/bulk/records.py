"""Comments to score in bulk: JSON-lines rows read one by one, each put in the context of those before it."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import IO

from ..files import json_object
from ..model.comment import Comment, ThreadContext

# Comments a backlog remembers as possible parents (some 100 MiB of text): a reply names a comment posted
# before it, seldom hundreds of thousands of comments before; memory stays flat however long the input.
PARENT_WINDOW = 250_000


@dataclass(frozen=True, slots=True)
class Record:
    """One comment to score: the id it came with (as sent, or None) and the comment in its context."""

    id: object
    comment: Comment


def key(value) -> str | None:
    """An id as the comment system sent it, as text; None when absent or empty."""
    return str(value) if value not in (None, "") else None


def parse_row(line: str, where: str) -> dict:
    """A JSON-lines row with a non-empty ``text``; ValueError naming ``where`` otherwise."""
    row = json_object(line, where)
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: 'text' must be a non-empty string")
    return row


def read_rows(handle: IO[str], name: str, on_invalid: Callable[[ValueError], None] | None = None) -> Iterator[dict]:
    """The rows of a JSON-lines stream, blank lines skipped.

    A bad line raises ValueError naming ``name`` and the line, unless ``on_invalid`` takes the error (and the
    line is skipped). Text that is not UTF-8 raises ValueError naming ``name``.
    """
    try:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield parse_row(line, f"{name}:{number}")
            except ValueError as error:
                if on_invalid is None:
                    raise
                on_invalid(error)
    except UnicodeDecodeError:
        raise ValueError(f"{name}: not valid UTF-8") from None


def records_in_context(rows: Iterable[dict], articles: dict[str, str] | None = None,
                       article: str | None = None, context: ThreadContext | None = None) -> Iterator[Record]:
    """Each row as a :class:`Record`, its thread made of the rows before it on its article.

    Parameters
    ----------
    rows : iterable of dict
        ``text`` and optional ``id``, ``article_id``, ``parent_id``, in the order the comments were posted.
    articles : dict, optional
        Article texts by article id.
    article : str, optional
        The one article of every comment (instead of ``articles``).
    context : ThreadContext, optional
        What came before these rows (default: nothing, and the last PARENT_WINDOW comments kept as parents).
    """
    context = context or ThreadContext(max_texts=PARENT_WINDOW)
    articles = articles or {}
    for row in rows:
        article_id = key(row.get("article_id"))
        yield Record(row.get("id"), context.comment(row["text"], key(row.get("id")), article_id,
                                                    key(row.get("parent_id")), article or articles.get(article_id)))


def chunked(items: Iterable, size: int) -> Iterator[list]:
    """Lists of ``size`` consecutive items (the last one shorter)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk

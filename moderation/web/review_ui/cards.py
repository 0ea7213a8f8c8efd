"""What a review card shows: the comment with its flagged spans highlighted, its article's title, its parent's text.

Every piece of comment text is escaped here; templates never mark user text safe.
"""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import select

from ...store import Store
from ...store.models import Article, StoredComment, ThreadEntry

# A span's score (the log-odds its words add to the label) above each bound is one step stronger: about the
# thirds of the spans of the flagged validation posts in benchmarks/spans.py.
STRENGTHS = (1.0, 1.6)


@dataclass(frozen=True)
class Card:
    comment: StoredComment
    text: Markup
    article_title: str | None
    parent_text: str | None
    labels: frozenset[str]  # checked on the card: the model's flags with any earlier corrections applied


def _valid_spans(text: str, spans) -> list[tuple[int, int, str, float]]:
    valid = []
    for span in spans or []:
        begin, end = span.get("begin"), span.get("end")
        if type(begin) is int and type(end) is int and 0 <= begin < end <= len(text):
            valid.append((begin, end, str(span.get("label", "")), float(span.get("score") or 0.0)))
    return valid


def highlight(text: str, spans) -> Markup:
    """``text`` escaped, with each stretch covered by flagged spans in one ``<mark>`` naming labels and scores."""
    valid = _valid_spans(text, spans)
    bounds = sorted({0, len(text)} | {b for b, _, _, _ in valid} | {e for _, e, _, _ in valid})
    pieces = []
    for start, stop in zip(bounds, bounds[1:]):
        covering = [(label, score) for begin, end, label, score in valid if begin <= start and stop <= end]
        piece = escape(text[start:stop])
        if not covering:
            pieces.append(piece)
            continue
        strongest = max(score for _, score in covering)
        strength = 1 + sum(strongest > bound for bound in STRENGTHS)
        labels = sorted({label for label, _ in covering})
        title = ", ".join(f"{label} {score:.2f}" for label, score in sorted(covering))
        pieces.append(Markup('<mark class="span strength-{} {}" title="{}">{}</mark>').format(
            strength, " ".join(f"label-{label}" for label in labels), title, piece))
    return Markup("").join(pieces)


def checked_labels(comment: StoredComment) -> frozenset[str]:
    checked = set(comment.flags or [])
    for label, value in (comment.labels or {}).items():
        (checked.add if value else checked.discard)(label)
    return frozenset(checked)


def build(store: Store, comments: list[StoredComment]) -> list[Card]:
    """Cards for a page of comments: articles and parents are fetched in one query each, not per card."""
    article_ids = {c.article_id for c in comments if c.article_id}
    parent_ids = {c.parent_id for c in comments if c.parent_id}
    titles: dict[str, str] = {}
    parents: dict[str, str] = {}
    with store.session() as session:
        if article_ids:
            titles = dict(session.execute(select(Article.id, Article.title).where(Article.id.in_(article_ids))).all())
        if parent_ids:
            parents = dict(session.execute(select(StoredComment.client_id, StoredComment.text)
                                           .where(StoredComment.client_id.in_(parent_ids))).all())
        remembered = parent_ids - parents.keys()
        if remembered:
            for comment_id, text in session.execute(select(ThreadEntry.comment_id, ThreadEntry.text)
                                                    .where(ThreadEntry.comment_id.in_(remembered))
                                                    .order_by(ThreadEntry.id)):
                parents[comment_id] = text
    return [Card(c, highlight(c.text, c.spans), titles.get(c.article_id) or None, parents.get(c.parent_id),
                 checked_labels(c)) for c in comments]

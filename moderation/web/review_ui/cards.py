"""What a review card shows: the comment with its flagged spans highlighted, its article's title, its parent's text.

Every piece of comment text is escaped here; templates never mark user text safe.
"""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import select

from ...runtime.policy import REVIEW, UNSUPPORTED_LANGUAGE
from ...store import Store
from ...store.models import Article, StoredComment, ThreadEntry

# A span's score (the log-odds its words add to the label) above each bound is one step stronger: about the
# thirds of the spans of the flagged validation posts in benchmarks/spans.py.
STRENGTHS = (1.0, 1.6)


@dataclass(frozen=True)
class Reason:
    """One line of why a comment was held or rejected, for any kind of reason the policy gives."""

    action: str  # review or reject
    text: str


@dataclass(frozen=True)
class Card:
    comment: StoredComment
    text: Markup
    article_title: str | None
    parent_text: str | None
    reasons: tuple[Reason, ...]
    suggested: frozenset[str]  # the model's flags: shown as suggestions, recorded only once a person sets them
    confirmed: dict[str, int]  # labels people set on earlier decisions, 0 or 1


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe(reason: dict) -> Reason:
    """A reason as a line: a label's score over its threshold, an unsupported language, or (older rows) its label."""
    label = str(reason.get("label") or "unknown")
    if label == UNSUPPORTED_LANGUAGE:
        language = reason.get("language")
        text = f"unsupported language ({language}): not scored" if language else "unsupported language: not scored"
    elif _number(reason.get("score")) and _number(reason.get("threshold")):
        text = f"{label} {reason['score']:.2f} ≥ {reason['threshold']:.2f}" + _comparison(reason.get("compared_with"))
    else:
        text = label
    return Reason(str(reason.get("action") or REVIEW), text)


def _comparison(compared) -> str:
    """What an off-topic score compared the comment with, as the end of its line ("" when not said)."""
    if not isinstance(compared, dict) or not _number(compared.get("similarity")):
        return ""
    quoted = str(compared.get("text") or "")
    quoted = quoted if len(quoted) <= 120 else quoted[:119] + "…"
    typical = compared.get("typical_similarity")
    usual = f", on-topic comments about {typical:.2f}" if _number(typical) else ""
    return (f" — closest in the {compared.get('context', 'context')}: “{quoted}” (similarity "
            f"{compared['similarity']:.2f}{usual}; specificity {compared.get('specificity', 0):.2f})")


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
                 tuple(map(describe, c.reasons or [])), frozenset(c.flags or []), dict(c.labels or {}))
            for c in comments]

"""What a review card shows: the comment with its explaining spans and word-list matches highlighted, its article's
title, its parent's text, its author's history.

Every piece of comment text is escaped here; templates never mark user text safe.
"""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import select

from ...review import authors
from ...runtime.policy import APPROVE, REJECT, REVIEW, UNSUPPORTED_LANGUAGE
from ...store import Store
from ...store.models import Article, StoredComment, ThreadEntry

# A span's score (the log-odds its words add to the label) above each bound is one step stronger: about the
# thirds of the spans of the flagged validation posts in benchmarks/spans.py.
STRENGTHS = (1.0, 1.6)
THREAD_SHOWN = 3  # comments shown on each side of a card's comment; the rest of the thread is collapsed
LEAD_CHARS = 400  # of the article's first paragraph


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
    author: authors.History | None = None
    rescored: str | None = None  # how a newer model changed the service's decision
    thread: "Thread | None" = None  # the discussion around it, and the article's first paragraph


@dataclass(frozen=True)
class ThreadComment:
    comment_id: str
    text: str
    state: str  # held, appealed, approved, rejected, auto-rejected; published: approved and not kept


@dataclass(frozen=True)
class Thread:
    """The comments before and after a card's comment on its article (as the thread memory keeps them)."""

    lead: str | None  # the article's first paragraph
    before: tuple[ThreadComment, ...]  # oldest first
    after: tuple[ThreadComment, ...]

    @property
    def earlier(self) -> tuple[ThreadComment, ...]:
        """The comments before the last THREAD_SHOWN of ``before``: collapsed on the card."""
        return self.before[:-THREAD_SHOWN] if len(self.before) > THREAD_SHOWN else ()

    @property
    def shown_before(self) -> tuple[ThreadComment, ...]:
        return self.before[-THREAD_SHOWN:]

    @property
    def shown_after(self) -> tuple[ThreadComment, ...]:
        return self.after[:THREAD_SHOWN]

    @property
    def later(self) -> tuple[ThreadComment, ...]:
        return self.after[THREAD_SHOWN:]


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def describe(reason: dict) -> Reason:
    """A reason as a line: a label's score over its threshold, an unsupported language, or (older rows) its label."""
    label = str(reason.get("label") or "unknown")
    rule = reason.get("rule")
    if rule == "wordlist":
        code = f" ({reason['reason']})" if reason.get("reason") else ""
        return Reason(str(reason.get("action") or REVIEW),
                      f"word list {reason.get('list')}: “{reason.get('entry')}”{code}")
    if rule == "new_author":
        return Reason(REVIEW, f"new author: {reason.get('approved')} of {reason.get('needed')} comments approved")
    if rule == "rejected_share":
        return Reason(REVIEW, f"author's rejected share {reason.get('rejected')}/{reason.get('decisions')} over "
                              f"{reason.get('max')}")
    if rule == "trusted_author":
        return Reason(str(reason.get("action")), f"trusted author: {reason.get('approved')} approved")
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


_DECIDED = {REVIEW: "held", APPROVE: "approved", REJECT: "rejected"}


def rescore_note(comment: StoredComment) -> str | None:
    """"re-scored by model X: was held by model W for off_topic 0.71 (now 0.42); now approved" when a re-score
    changed the service's decision, else None."""
    record = comment.rescored
    if not isinstance(record, dict) or record.get("from_decision") == record.get("to_decision"):
        return None
    scores = comment.scores or {}
    because = [f"{r['label']} {r['score']:.2f}" + (f" (now {scores[r['label']]:.2f})"
                                                    if _number(scores.get(r["label"])) else "")
               for r in record.get("from_reasons") or []
               if isinstance(r, dict) and r.get("label") and _number(r.get("score"))]
    was = _DECIDED.get(record.get("from_decision"), record.get("from_decision"))
    now = _DECIDED.get(record.get("to_decision"), record.get("to_decision"))
    return (f"re-scored by model {record.get('to_model')}: was {was} by model {record.get('from_model')}"
            + (f" for {', '.join(because)}" if because else "") + f"; now {now}")


def _valid_spans(text: str, spans) -> list[tuple[int, int, str, float]]:
    valid = []
    for span in spans or []:
        begin, end = span.get("begin"), span.get("end")
        if type(begin) is int and type(end) is int and 0 <= begin < end <= len(text):
            valid.append((begin, end, str(span.get("label", "")), float(span.get("score") or 0.0)))
    return valid


def highlight(text: str, spans, matches=()) -> Markup:
    """``text`` escaped, with each stretch covered by explaining spans in one ``<mark>`` naming labels and scores,
    and each stretch a word list matched (``matches``: its reasons) in a ``<mark class="wordlist">``."""
    valid = _valid_spans(text, spans)
    listed = [(m["begin"], m["end"], f"{m.get('list')}: {m.get('entry')}") for m in matches
              if type(m.get("begin")) is int and type(m.get("end")) is int and 0 <= m["begin"] < m["end"] <= len(text)]
    edges = [(b, e) for b, e, _, _ in valid] + [(b, e) for b, e, _ in listed]
    bounds = sorted({0, len(text)} | {b for b, _ in edges} | {e for _, e in edges})
    pieces = []
    for start, stop in zip(bounds, bounds[1:]):
        covering = [(label, score) for begin, end, label, score in valid if begin <= start and stop <= end]
        entries = [entry for begin, end, entry in listed if begin <= start and stop <= end]
        piece = escape(text[start:stop])
        if entries:
            piece = Markup('<mark class="wordlist" title="{}">{}</mark>').format("; ".join(entries), piece)
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


def _wordlist_matches(reasons) -> list[dict]:
    return [r for r in reasons or [] if isinstance(r, dict) and r.get("rule") == "wordlist"]


def _state(status: str | None, decided_by: str | None) -> str:
    if status is None:
        return "published"
    if status == "rejected" and not decided_by:
        return "auto-rejected"
    return {"pending": "held"}.get(status, status)


def _lead(body: str | None) -> str | None:
    paragraph = (body or "").strip().split("\n\n")[0].strip()
    return paragraph if len(paragraph) <= LEAD_CHARS else paragraph[:LEAD_CHARS - 1] + "…"


def _threads(session, comments: list[StoredComment], bodies: dict[str, str]) -> dict[str, Thread]:
    """Each card's thread: the remembered comments of its article before and after it (by when they came),
    with where each stands, in two queries for the whole page."""
    article_ids = {c.article_id for c in comments if c.article_id}
    if not article_ids:
        return {}
    entries: dict[str, list] = {}
    for entry in session.execute(select(ThreadEntry.article_id, ThreadEntry.comment_id, ThreadEntry.text,
                                        ThreadEntry.created_at).where(ThreadEntry.article_id.in_(article_ids))
                                 .order_by(ThreadEntry.id)):
        entries.setdefault(entry.article_id, []).append(entry)
    ids = {e.comment_id for rows in entries.values() for e in rows}
    states = {client_id: _state(status, decided_by) for client_id, status, decided_by in session.execute(
        select(StoredComment.client_id, StoredComment.status, StoredComment.decided_by)
        .where(StoredComment.client_id.in_(ids)))} if ids else {}
    threads = {}
    for c in comments:
        rows = [(e.created_at, ThreadComment(e.comment_id, e.text, states.get(e.comment_id, "published")))
                for e in entries.get(c.article_id, []) if e.comment_id != c.client_id]
        if rows or bodies.get(c.article_id):
            threads[c.client_id] = Thread(_lead(bodies.get(c.article_id)),
                                          tuple(t for at, t in rows if at <= c.created_at),
                                          tuple(t for at, t in rows if at > c.created_at))
    return threads


def build(store: Store, comments: list[StoredComment], recent: int = 5) -> list[Card]:
    """Cards for a page of comments: articles, parents, threads and authors are fetched in one query each (two for
    threads), not per card."""
    article_ids = {c.article_id for c in comments if c.article_id}
    parent_ids = {c.parent_id for c in comments if c.parent_id}
    titles: dict[str, str] = {}
    bodies: dict[str, str] = {}
    parents: dict[str, str] = {}
    with store.session() as session:
        if article_ids:
            for article_id, title, body in session.execute(select(Article.id, Article.title, Article.body)
                                                           .where(Article.id.in_(article_ids))):
                titles[article_id], bodies[article_id] = title, body
        threads = _threads(session, comments, bodies)
        if parent_ids:
            parents = dict(session.execute(select(StoredComment.client_id, StoredComment.text)
                                           .where(StoredComment.client_id.in_(parent_ids))).all())
        remembered = parent_ids - parents.keys()
        if remembered:
            for comment_id, text in session.execute(select(ThreadEntry.comment_id, ThreadEntry.text)
                                                    .where(ThreadEntry.comment_id.in_(remembered))
                                                    .order_by(ThreadEntry.id)):
                parents[comment_id] = text
    author_ids = sorted({c.author_id for c in comments if c.author_id})
    histories = authors.histories(store, author_ids, recent) if author_ids else {}
    return [Card(c, highlight(c.text, c.spans, _wordlist_matches(c.reasons)), titles.get(c.article_id) or None,
                 parents.get(c.parent_id), tuple(map(describe, c.reasons or [])), frozenset(c.flags or []),
                 dict(c.labels or {}), histories.get(c.author_id), rescore_note(c), threads.get(c.client_id))
            for c in comments]

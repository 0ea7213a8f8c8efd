"""The review queue: stored comments, moderators' decisions on them, and the audit trail.

Domain code only (no Flask): the API, the web UI and the CLI all decide through :func:`decide`, so every
path leaves the same audit trail and the same webhook event.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..errors import InvalidInput
from ..model.labels import LABELS
from ..runtime.policy import APPROVE, REJECT, REVIEW
from ..store import Store
from ..store.models import DecisionRecord, OutboxEvent, StoredComment, utcnow
from . import authors, events, reasons as rejection_reasons

PENDING, APPROVED, REJECTED, APPEALED = "pending", "approved", "rejected", "appealed"
MAX_APPEAL_CHARS = 5000
STATUS_OF_DECISION = {REVIEW: PENDING, APPROVE: APPROVED, REJECT: REJECTED}
QUEUES = {
    "review": StoredComment.status == PENDING,
    "auto-rejected": and_(StoredComment.status == REJECTED, StoredComment.decided_by.is_(None)),
    "approved": StoredComment.status == APPROVED,
    "rejected": and_(StoredComment.status == REJECTED, StoredComment.decided_by.is_not(None)),
    "appeals": StoredComment.status == APPEALED,
}
IN_A_QUEUE = (PENDING, APPEALED)  # waiting for a person: held by the service, or a rejection appealed
SORTS = {"time": StoredComment.created_at.desc(), "oldest": StoredComment.created_at.asc()}


class ReviewError(InvalidInput, ValueError):
    """A decision that cannot be taken: unknown comment, bad decision or labels (status 404 or 422)."""


class Conflict(Exception):
    """Another decision changed the comment first; this attempt was recorded and not applied."""

    def __init__(self, comment: "StoredComment"):
        super().__init__(f"comment {comment.client_id!r} was decided concurrently (now {comment.status}, "
                         f"version {comment.version})")
        self.comment = comment


@dataclass(frozen=True)
class ToStore:
    """A scored comment to keep."""

    client_id: str
    text: str
    article_id: str | None
    parent_id: str | None
    author_id: str | None
    result: dict  # scores, flags, decision, reasons, spans
    language: str | None
    model_version: str
    warnings: list[str] = field(default_factory=list)  # as answered: replayed with the result on a retry


def existing_in(session: Session, client_ids: list[str]) -> dict[str, StoredComment]:
    """Stored comments among ``client_ids``, by client id (what makes a retried request idempotent)."""
    if not client_ids:
        return {}
    rows = session.scalars(select(StoredComment).where(StoredComment.client_id.in_(client_ids))).all()
    return {row.client_id: row for row in rows}


def existing(store: Store, client_ids: list[str]) -> dict[str, StoredComment]:
    """:func:`existing_in` in a transaction of its own; one indexed look-up when none is stored (the usual case)."""
    if not client_ids:
        return {}
    markers = ", ".join("?" * len(client_ids))
    if store.first_value(f"SELECT 1 FROM {StoredComment.__tablename__} WHERE client_id IN ({markers}) LIMIT 1",
                         tuple(client_ids)) is None:
        return {}
    with store.session() as session:
        return existing_in(session, client_ids)


_INSERT_NEW = {name: dialect.insert(StoredComment).on_conflict_do_nothing(index_elements=["client_id"])
               for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


def save(store: Store, items: list[ToStore], scored: list[authors.Scored] = (),
         subscribed: frozenset[str] = frozenset()) -> None:
    """Insert comments, ignoring any whose client id is already stored, count ``scored`` comments in their
    authors' histories, and (when ``comment.held`` is among the ``subscribed`` events) tell the webhook of the
    ones held for review; all or nothing."""
    if not items and not scored:
        return
    now = utcnow()
    rows = [{
        "client_id": item.client_id, "text": item.text, "article_id": item.article_id, "parent_id": item.parent_id,
        "author_id": item.author_id, "scores": item.result["scores"], "flags": item.result["flags"],
        "reasons": item.result["reasons"], "spans": item.result["spans"], "warnings": item.warnings,
        "language": item.language, "model_version": item.model_version, "automatic_decision": item.result["decision"],
        "status": STATUS_OF_DECISION[item.result["decision"]], "version": 1, "created_at": now,
    } for item in items]
    held = _held_events([row for row in rows if row["status"] == PENDING], now) if events.HELD in subscribed else []
    store.execute_many(_INSERT_NEW[store.engine.dialect.name], rows, *authors.scored_statements(store, list(scored)),
                       *([(_INSERT_EVENT[store.engine.dialect.name], held)] if held else []))


_INSERT_EVENT = {name: dialect.insert(OutboxEvent).on_conflict_do_nothing(index_elements=["dedupe_key"])
                 for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


def _held_events(rows: list[dict], now, appeal: str | None = None) -> list[dict]:
    """Outbox rows of ``comment.held`` for comments entering a queue (``rows`` as stored: fresh ones, or an
    appealed one with the commenter's ``appeal``), one per comment and version whatever the retries."""
    return [{"event_type": events.HELD, "dedupe_key": f"{events.HELD}:{row['client_id']}:{row['version']}",
             "attempts": 0, "next_attempt_at": now, "created_at": now, "payload": {
                 "comment_id": row["client_id"], "article_id": row["article_id"], "author_id": row["author_id"],
                 "status": row["status"], "scores": row["scores"], "flags": row["flags"], "reasons": row["reasons"],
                 "model_version": row["model_version"], "held_at": now.isoformat(),
                 **({"appeal": appeal} if appeal is not None else {})}}
            for row in rows]


def _released(comment: StoredComment, status: str, decision: str, actor: str, now) -> OutboxEvent:
    """The ``comment.released`` event of a comment leaving a queue."""
    return OutboxEvent(event_type=events.RELEASED, payload={
        "comment_id": comment.client_id, "article_id": comment.article_id, "status": status, "decision": decision,
        "actor": actor, "released_at": now.isoformat()})


def rejection_reason(comment: StoredComment, codes=rejection_reasons.CORAL_CODES) -> dict | None:
    """Why a rejected comment was rejected: the person's code, or for the service's rejection the one of ``codes``
    its rejecting reasons suggest."""
    if comment.status != REJECTED:
        return None
    return comment.rejection_reason or {"code": rejection_reasons.suggest(
        [r for r in comment.reasons or [] if r.get("action") == REJECT], comment.flags, codes)}


def stored_result(comment: StoredComment) -> dict:
    """A stored comment in the shape ``/v1/moderate`` answers with."""
    return {"scores": comment.scores, "flags": comment.flags, "decision": comment.automatic_decision,
            "reasons": comment.reasons, "spans": comment.spans}


def get(store: Store, client_id: str) -> tuple[StoredComment, list[DecisionRecord]]:
    """A stored comment and its decision history, oldest first."""
    with store.session() as session:
        comment = session.scalars(select(StoredComment).where(StoredComment.client_id == client_id)).first()
        if comment is None:
            raise ReviewError(f"no stored comment {client_id!r}", status=404)
        history = session.scalars(select(DecisionRecord).where(DecisionRecord.comment_id == comment.id)
                                  .order_by(DecisionRecord.id)).all()
        return comment, list(history)


def validate_labels(labels: dict | None, known: list[str]) -> dict | None:
    if labels is None:
        return None
    if not isinstance(labels, dict):
        raise ReviewError("labels must be an object of label: 0 or 1", field="labels")
    for label, value in labels.items():
        if label not in known:
            raise ReviewError(f"unknown label {label!r} (known: {', '.join(known)})", field=f"labels.{label}")
        if isinstance(value, bool) or value not in (0, 1, 0.0, 1.0):
            raise ReviewError(f"label {label!r} must be 0 or 1", field=f"labels.{label}")
    return {label: int(value) for label, value in labels.items()}


def decide(store: Store, client_id: str, decision: str, actor: str, labels: dict | None = None,
           note: str | None = None, expected_version: int | None = None, subscribed: frozenset[str] = frozenset(),
           reason: dict | None = None, codes=rejection_reasons.CORAL_CODES) -> StoredComment:
    """Approve or reject a stored comment; exactly one of several concurrent attempts takes effect.

    Parameters
    ----------
    store : Store
    client_id : str
        The comment system's id of the comment.
    decision : {"approve", "reject"}
    actor : str
        Who decides, e.g. ``user:alice`` or ``key:3``.
    labels : dict, optional
        Corrected labels (validated by the caller with :func:`validate_labels`).
    expected_version : int, optional
        The version the decider saw; a different current version is a conflict.
    subscribed : set of str
        The webhook's events: ``comment.decided``, and ``comment.released`` when the comment was in the review
        queue, are queued in the same transaction if subscribed.
    reason : dict, optional
        A rejection's ``{"code", "detail"}`` (validated by the caller with :func:`reasons.validate`); a rejection
        without one gets the code of ``codes`` (the deployment's) the comment's reasons suggest. An approval has
        none.

    Raises
    ------
    ReviewError
        Unknown comment (404) or bad decision (422).
    Conflict
        Another decision changed the comment first; the attempt is recorded in the history.
    """
    if decision not in (APPROVE, REJECT):
        raise ReviewError("decision must be 'approve' or 'reject'", field="decision")
    status = APPROVED if decision == APPROVE else REJECTED
    with store.session() as session:
        comment = session.scalars(select(StoredComment).where(StoredComment.client_id == client_id)).first()
        if comment is None:
            raise ReviewError(f"no stored comment {client_id!r}", status=404)
        seen = comment.version if expected_version is None else expected_version
        if decision == REJECT and reason is None:
            reason = {"code": rejection_reasons.suggest(comment.reasons, comment.flags, codes)}
        elif decision == APPROVE:
            reason = None
        appealed = comment.status == APPEALED
        # an appealed comment counts in its author's history as the rejection it was until this decision
        before = StoredComment(client_id=comment.client_id, author_id=comment.author_id,
                               status=comment.appeal["from_status"] if appealed else comment.status,
                               decided_by=comment.appeal["from_decided_by"] if appealed else comment.decided_by)
        now = utcnow()
        merged_labels = {**(comment.labels or {}), **(labels or {})} or None
        applied = session.execute(
            update(StoredComment).where(StoredComment.id == comment.id, StoredComment.version == seen)
            .values(status=status, decided_by=actor, decided_at=now, labels=merged_labels, rejection_reason=reason,
                    version=StoredComment.version + 1)
            .execution_options(synchronize_session=False)).rowcount == 1
        session.add(DecisionRecord(comment_id=comment.id, decision=decision, labels=labels, note=note, actor=actor,
                                   rejection_reason=reason, outcome="applied" if applied else "conflict",
                                   created_at=now))
        if applied:
            authors.on_decision(session, before, decision)
        if applied and events.DECIDED in subscribed:
            session.add(OutboxEvent(event_type=events.DECIDED, payload={
                "comment_id": client_id, "article_id": comment.article_id, "decision": decision,
                "status": status, "labels": merged_labels, "rejection_reason": reason, "note": note, "actor": actor,
                "decided_at": now.isoformat(), "model_version": comment.model_version, "appeal": appealed}))
        if applied and comment.status in IN_A_QUEUE and events.RELEASED in subscribed:
            session.add(_released(comment, status, decision, actor, now))
    current, _ = get(store, client_id)
    if not applied:
        raise Conflict(current)
    return current


class NotAppealable(ReviewError):
    """Only a rejected comment can be appealed (status 409)."""

    def __init__(self, comment: StoredComment):
        super().__init__(f"comment {comment.client_id!r} is {comment.status}: only a rejected comment can be "
                         "appealed", status=409)
        self.current_status, self.version = comment.status, comment.version


def appeal(store: Store, client_id: str, text: str, actor: str, subscribed: frozenset[str] = frozenset()
           ) -> StoredComment:
    """Put a rejected comment back in front of moderators, in the appeals queue, with its author's words.

    The appeal is in the comment's history like a decision; the decision on it is taken with :func:`decide` and
    reaches the webhook like any other (its ``comment.decided`` event says ``"appeal": true``). With
    ``comment.held`` subscribed, the webhook hears the comment enter the queue again.

    Raises
    ------
    ReviewError
        Unknown comment (404), or an appeal of more than MAX_APPEAL_CHARS characters (422).
    NotAppealable
        The comment is not rejected: held, approved, or already appealed (409).
    """
    if len(text) > MAX_APPEAL_CHARS:
        raise ReviewError(f"an appeal is at most {MAX_APPEAL_CHARS} characters", field="text")
    with store.session() as session:
        comment = session.scalars(select(StoredComment).where(StoredComment.client_id == client_id)).first()
        if comment is None:
            raise ReviewError(f"no stored comment {client_id!r}", status=404)
        if comment.status != REJECTED:
            raise NotAppealable(comment)
        now = utcnow()
        record = {"text": text, "at": now.isoformat(), "by": actor, "from_status": comment.status,
                  "from_decided_by": comment.decided_by}
        applied = session.execute(
            update(StoredComment).where(StoredComment.id == comment.id, StoredComment.version == comment.version)
            .values(status=APPEALED, appeal=record, version=StoredComment.version + 1)
            .execution_options(synchronize_session=False)).rowcount == 1
        session.add(DecisionRecord(comment_id=comment.id, decision="appeal", note=text, actor=actor,
                                   outcome="applied" if applied else "conflict", created_at=now))
        if applied and events.HELD in subscribed:
            row = {"client_id": client_id, "article_id": comment.article_id, "author_id": comment.author_id,
                   "status": APPEALED, "scores": comment.scores, "flags": comment.flags, "reasons": comment.reasons,
                   "model_version": comment.model_version, "version": comment.version + 1}
            session.add(OutboxEvent(**_held_events([row], now, appeal=text)[0]))
    current, _ = get(store, client_id)
    if not applied:
        raise Conflict(current)
    return current


def held_for_rescore(store: Store, model_version: str, since: datetime | None = None, after_id: int = 0,
                     limit: int = 200) -> list[StoredComment]:
    """Held comments no person decided and another model than ``model_version`` scored, by row id after
    ``after_id``: the next batch of a re-score (the ones it re-scored no longer match, so a stopped run resumes)."""
    conditions = [StoredComment.status == PENDING, StoredComment.decided_by.is_(None),
                  StoredComment.model_version != model_version, StoredComment.id > after_id]
    if since is not None:
        conditions.append(StoredComment.created_at >= since)
    with store.session() as session:
        return list(session.scalars(select(StoredComment).where(*conditions).order_by(StoredComment.id)
                                    .limit(limit)).all())


@dataclass(frozen=True)
class Rescore:
    """A held comment (as read, with its version) and its new result from a newer model."""

    comment: StoredComment
    result: dict  # scores, flags, decision, reasons, spans
    language: str | None
    model_version: str
    warnings: list[str] = field(default_factory=list)


RESCORE_ACTOR = "rescore"


def apply_rescores(store: Store, rescores: list[Rescore], subscribed: frozenset[str] = frozenset(),
                   codes=rejection_reasons.CORAL_CODES) -> list[str]:
    """Store new results on held comments in one transaction; returns the client ids that took them.

    A comment takes its new result only if it is still held, undecided and at the version it was read at:
    one a person decided meanwhile is left exactly as they left it. One the new result approves or rejects
    leaves the queue as the service's own decision (its author's counts move; ``comment.decided`` and
    ``comment.released`` events are queued for the webhook if ``subscribed``). The scores, reasons, model and
    decision it had are kept in ``rescored``.
    """
    applied = []
    now = utcnow()
    with store.session() as session:
        for item in rescores:
            comment, decision = item.comment, item.result["decision"]
            status = STATUS_OF_DECISION[decision]
            record = {"at": now.isoformat(), "from_model": comment.model_version, "to_model": item.model_version,
                      "from_decision": comment.automatic_decision, "to_decision": decision,
                      "from_scores": comment.scores, "from_reasons": comment.reasons}
            taken = session.execute(
                update(StoredComment).where(StoredComment.id == comment.id, StoredComment.version == comment.version,
                                            StoredComment.status == PENDING, StoredComment.decided_by.is_(None))
                .values(scores=item.result["scores"], flags=item.result["flags"], reasons=item.result["reasons"],
                        spans=item.result["spans"], language=item.language, warnings=item.warnings,
                        model_version=item.model_version, automatic_decision=decision, status=status,
                        rescored=record, version=StoredComment.version + 1)
                .execution_options(synchronize_session=False)).rowcount == 1
            if not taken:
                continue
            applied.append(comment.client_id)
            if status == PENDING:
                continue
            authors.on_decision(session, comment, decision, by_person=False)
            if events.DECIDED in subscribed:
                decided = StoredComment(status=status, reasons=item.result["reasons"], flags=item.result["flags"])
                session.add(OutboxEvent(event_type=events.DECIDED, payload={
                    "comment_id": comment.client_id, "article_id": comment.article_id, "decision": decision,
                    "status": status, "labels": comment.labels, "rejection_reason": rejection_reason(decided, codes),
                    "note": None, "actor": RESCORE_ACTOR, "decided_at": now.isoformat(),
                    "model_version": item.model_version, "previous_model_version": comment.model_version}))
            if events.RELEASED in subscribed:
                session.add(_released(comment, status, decision, RESCORE_ACTOR, now))
    return applied


@dataclass(frozen=True)
class QueueQuery:
    queue: str = "review"
    article_id: str | None = None
    label: str | None = None
    author_id: str | None = None
    sort: str = "score"  # score (highest first), time (newest first), oldest
    sort_label: str = LABELS[0]
    limit: int = 50
    offset: int = 0
    min_score: float | None = None
    max_score: float | None = None


def _score_expression(store: Store, label: str):
    if store.engine.dialect.name == "postgresql":
        return func.coalesce(StoredComment.scores[label].as_float(), 0.0)
    return func.coalesce(func.json_extract(StoredComment.scores, f'$."{label}"'), 0.0)


def _filtered(store: Store, query: QueueQuery):
    if query.queue not in QUEUES:
        raise ReviewError(f"unknown queue {query.queue!r} (queues: {', '.join(QUEUES)})", field="queue")
    conditions = [QUEUES[query.queue]]
    if query.article_id:
        conditions.append(StoredComment.article_id == query.article_id)
    if query.author_id:
        conditions.append(StoredComment.author_id == query.author_id)
    score = _score_expression(store, query.label or query.sort_label)
    if query.label:
        if store.engine.dialect.name == "postgresql":
            conditions.append(func.jsonb_exists(func.cast(StoredComment.flags, postgresql.JSONB), query.label))
        else:
            conditions.append(func.instr(func.cast(StoredComment.flags, type_=StoredComment.text.type),
                                         f'"{query.label}"') > 0)
    if query.min_score is not None:
        conditions.append(score >= query.min_score)
    if query.max_score is not None:
        conditions.append(score <= query.max_score)
    return conditions, score


def listing(store: Store, query: QueueQuery) -> tuple[list[StoredComment], int]:
    """One page of a queue, filtered and sorted, and the queue's total size under the same filters."""
    conditions, score = _filtered(store, query)
    order = [score.desc(), StoredComment.id] if query.sort == "score" else [SORTS.get(query.sort, SORTS["time"])]
    with store.session() as session:
        total = session.scalar(select(func.count()).select_from(StoredComment).where(*conditions))
        rows = session.scalars(select(StoredComment).where(*conditions).order_by(*order)
                               .limit(query.limit).offset(query.offset)).all()
        return list(rows), int(total)


def matching_ids(store: Store, query: QueueQuery) -> list[tuple[str, int]]:
    """(client id, version) of every comment a query selects: what a bulk action applies to."""
    conditions, _ = _filtered(store, query)
    with store.session() as session:
        return [(r.client_id, r.version) for r in session.execute(
            select(StoredComment.client_id, StoredComment.version).where(*conditions)).all()]


def counts(store: Store) -> dict[str, int]:
    with store.session() as session:
        return {name: int(session.scalar(select(func.count()).select_from(StoredComment).where(condition)))
                for name, condition in QUEUES.items()}


def audit(store: Store, limit: int = 100, offset: int = 0, actor: str | None = None):
    """Recent decision attempts, newest first, with their comments' client ids."""
    with store.session() as session:
        statement = (select(DecisionRecord, StoredComment.client_id, StoredComment.text)
                     .join(StoredComment, StoredComment.id == DecisionRecord.comment_id)
                     .order_by(DecisionRecord.id.desc()).limit(limit).offset(offset))
        if actor:
            statement = statement.where(DecisionRecord.actor == actor)
        return session.execute(statement).all()


def reviewed_since(store: Store, since: datetime | None = None):
    """Comments a person decided (or labelled), with their final labels: training data for the next model."""
    with store.session() as session:
        statement = select(StoredComment).where(or_(StoredComment.decided_by.is_not(None),
                                                    StoredComment.labels.is_not(None)))
        if since is not None:
            statement = statement.where(StoredComment.decided_at >= since)
        return list(session.scalars(statement.order_by(StoredComment.decided_at)).all())

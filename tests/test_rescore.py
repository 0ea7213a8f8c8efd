"""``moderation review rescore`` on SQLite and PostgreSQL: held comments scored again by the current model, people's
decisions (taken before or while it runs) left alone, the dry run changing nothing, the CLI's report and errors."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from moderation.review import authors, queue
from moderation.service import Moderation
from moderation.service.rescore import rescore
from moderation.store.models import OutboxEvent, StoredComment

# The tiny model holds toxic comments (scores 0.70-0.74) under this policy and rejects the most toxic (0.78);
# civil ones score about 0.2.
POLICY = {"toxic": {"review": 0.5, "reject": 0.76}, "insult": {"review": 0.5}}
OLD = "old-model"
HELD_BY_OLD = {"scores": {"toxic": 0.91, "insult": 0.12, "off_topic": 0.71}, "flags": ["toxic", "off_topic"],
               "decision": "review", "spans": [],
               "reasons": [{"label": "toxic", "score": 0.91, "threshold": 0.5, "action": "review"},
                           {"label": "off_topic", "score": 0.71, "threshold": 0.6, "action": "review"}]}
# client id, text, what the tiny model decides now under POLICY
QUEUE = [
    ("kind", "The library staff are always kind to my kids.", "approve"),
    ("rude", "Whoever runs the library is a pathetic idiot.", "review"),
    ("worst", "Shut up, you clueless idiot, nobody asked you.", "reject"),
    ("laptops", "Lending laptops is a smart use of the library budget.", "approve"),
]


@pytest.fixture
def service(app_factory, database_url):
    """An app on ``database_url`` whose queue holds QUEUE as an older model held it, plus a comment a person
    decided and one the current model already held."""
    app = app_factory(DATABASE_URL=database_url, POLICY=POLICY, LANGUAGE_DETECTION=False)
    store = app.extensions["moderation.store"]
    queue.save(store, [queue.ToStore(client_id, text, "library", None, f"author-{client_id}", HELD_BY_OLD, None, OLD)
                       for client_id, text, _ in QUEUE]
               + [queue.ToStore("decided", "Evening hours will help students.", "library", None, None, HELD_BY_OLD,
                                None, OLD)])
    queue.decide(store, "decided", "reject", "user:alice")
    current = app.extensions["moderation.model"].scorer.version
    queue.save(store, [queue.ToStore("fresh", "Another pathetic idiot.", None, None, None, HELD_BY_OLD, None,
                                     current)])
    return app


def stored(app, client_id):
    return queue.get(app.extensions["moderation.store"], client_id)[0]


DECIDED = frozenset({"comment.decided"})


def outbox(app, event_type: str = "comment.decided"):
    with app.extensions["moderation.store"].session() as session:
        return [event.payload for event in session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == event_type)
                                                           .order_by(OutboxEvent.id))]


def test_a_dry_run_reports_the_new_decisions_and_changes_nothing(service):
    before = {c: stored(service, c).version for c, _, _ in QUEUE}
    report = rescore(service.extensions["moderation.service"], dry_run=True, batch_size=3)
    assert report.decisions == {"approve": 2, "review": 1, "reject": 1} and report.changed == 3
    assert report.rescored == 4 and report.left_to_people == 0 and report.dry_run
    for client_id, _, _ in QUEUE:
        comment = stored(service, client_id)
        assert (comment.status, comment.model_version, comment.rescored) == ("pending", OLD, None)
        assert comment.version == before[client_id] and comment.scores == HELD_BY_OLD["scores"]
    assert outbox(service) == []


def test_rescore_applies_the_new_decisions_and_keeps_the_old_ones(service):
    store = service.extensions["moderation.store"]
    current = service.extensions["moderation.model"].scorer.version
    report = rescore(service.extensions["moderation.service"], batch_size=3,
                     subscribed=frozenset({"comment.decided", "comment.released"}))
    assert report.decisions == {"approve": 2, "review": 1, "reject": 1}
    assert (report.changed, report.left_to_people) == (3, 0)
    for client_id, _, decision in QUEUE:
        comment = stored(service, client_id)
        assert comment.status == queue.STATUS_OF_DECISION[decision] and comment.decided_by is None
        assert (comment.model_version, comment.automatic_decision, comment.version) == (current, decision, 2)
        assert comment.rescored["from_model"] == OLD and comment.rescored["to_model"] == current
        assert comment.rescored["from_scores"] == HELD_BY_OLD["scores"]
        assert comment.rescored["from_decision"] == "review" and comment.rescored["to_decision"] == decision
        assert comment.scores["toxic"] != HELD_BY_OLD["scores"]["toxic"]
    assert queue.rejection_reason(stored(service, "worst")) == {"code": "OFFENSIVE"}
    assert {c.client_id for c in queue.listing(store, queue.QueueQuery("auto-rejected"))[0]} == {"worst"}
    # what the comment system learns: the comments that left the queue, as the service's decisions
    events = outbox(service)
    assert [(e["comment_id"], e["decision"], e["status"], e["actor"]) for e in events] == [
        ("kind", "approve", "approved", "rescore"), ("worst", "reject", "rejected", "rescore"),
        ("laptops", "approve", "approved", "rescore")]
    assert events[1]["rejection_reason"] == {"code": "OFFENSIVE"}
    assert all(e["model_version"] == current and e["previous_model_version"] == OLD for e in events)
    assert [(e["comment_id"], e["status"], e["actor"]) for e in outbox(service, "comment.released")] == [
        (e["comment_id"], e["status"], e["actor"]) for e in events]
    histories = authors.histories(store, ["author-kind", "author-worst", "author-rude"], 5)
    assert (histories["author-kind"].approved, histories["author-worst"].auto_rejected) == (1, 1)
    assert histories["author-worst"].rejected == 0 and histories["author-rude"].counts()["approved"] == 0
    # people's decisions and the current model's own scores are not touched; a second run finds nothing
    decided, fresh = stored(service, "decided"), stored(service, "fresh")
    assert (decided.status, decided.decided_by, decided.model_version, decided.rescored) == (
        "rejected", "user:alice", OLD, None)
    assert (fresh.version, fresh.rescored) == (1, None)
    assert rescore(service.extensions["moderation.service"]).rescored == 0


def test_without_a_webhook_no_event_is_queued_and_since_limits_the_comments(service):
    store = service.extensions["moderation.store"]
    with store.session() as session:
        session.execute(update(StoredComment).where(StoredComment.client_id.in_(["kind", "rude"]))
                        .values(created_at=datetime.now(timezone.utc) - timedelta(days=10)))
    report = rescore(service.extensions["moderation.service"], since=datetime.now(timezone.utc) - timedelta(days=1))
    assert report.decisions == {"approve": 1, "review": 0, "reject": 1}
    assert stored(service, "kind").model_version == OLD and stored(service, "rude").model_version == OLD
    assert outbox(service) == []


def test_a_comment_a_person_decides_while_its_batch_is_scored_keeps_their_decision(service, monkeypatch):
    store = service.extensions["moderation.store"]
    score_again = Moderation.rescore

    def decide_meanwhile(self, incoming, scorer, explain=True):
        outcomes = score_again(self, incoming, scorer, explain)
        if any(item.id == "kind" for item in incoming):  # read and scored, not yet written
            queue.decide(store, "kind", "reject", "user:bob", note="spam link", subscribed=DECIDED)
        return outcomes

    monkeypatch.setattr(Moderation, "rescore", decide_meanwhile)
    report = rescore(service.extensions["moderation.service"], batch_size=2, subscribed=DECIDED)
    assert report.left_to_people == 1
    assert report.decisions == {"approve": 1, "review": 1, "reject": 1}
    kind = stored(service, "kind")
    assert (kind.status, kind.decided_by, kind.model_version, kind.rescored) == ("rejected", "user:bob", OLD, None)
    assert kind.scores == HELD_BY_OLD["scores"] and kind.version == 2
    assert [(e["comment_id"], e["actor"]) for e in outbox(service)] == [
        ("kind", "user:bob"), ("worst", "rescore"), ("laptops", "rescore")]


@pytest.fixture
def configured(service, database_url, tiny_registry, tmp_path, monkeypatch):
    """The environment a server of ``service`` would run with, for the CLI."""
    for name, value in {"HOME": str(tmp_path / "home"), "DATABASE_URL": database_url,
                        "MODELS_DIR": str(tiny_registry.root), "POLICY": json.dumps(POLICY),
                        "LANGUAGE_DETECTION": "off", "WEBHOOK_URL": "http://127.0.0.1:9/decisions"}.items():
        monkeypatch.setenv(f"MODERATION_{name}", value)
    return service


def test_the_command_reports_a_dry_run_then_rescores(cli, configured):
    current = configured.extensions["moderation.model"].scorer.version
    out, _ = cli("review", "rescore", "--dry-run", "--batch-size", "2")
    assert out == (f"dry run, nothing changed: model {current} would approve 2, hold 1 and reject 1 of 4 held "
                   "comments (3 decisions would change)\n")
    assert stored(configured, "kind").model_version == OLD and outbox(configured) == []
    out, _ = cli("review", "rescore", "--since", "2020-01-01")
    assert out == (f"re-scored 4 held comments with model {current}: 2 approved, 1 still held, 1 rejected "
                   "(3 decisions changed; 0 decided by a person meanwhile, left as they decided)\n")
    assert stored(configured, "kind").status == "approved" and len(outbox(configured)) == 3


@pytest.mark.parametrize("argv, message", [
    (["--since", "yesterday"], "Invalid value for '--since'"),
    (["--batch-size", "0"], "Invalid value for '--batch-size'"),
])
def test_bad_options_are_one_line_errors(cli, argv, message):
    _, err = cli("review", "rescore", *argv, expect=2)
    assert message in err


def test_without_a_model_or_a_store_the_command_fails_in_one_line(cli, configured, tmp_path, monkeypatch):
    monkeypatch.setenv("MODERATION_MODELS_DIR", str(tmp_path / "no-models"))
    _, err = cli("review", "rescore", expect=2)
    assert err.startswith("error: No model is loaded") and len(err.strip().splitlines()) == 1
    assert stored(configured, "kind").model_version == OLD
    monkeypatch.setenv("MODERATION_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    _, err = cli("review", "rescore", expect=2)
    assert err.startswith("error: the store is unreachable") and len(err.strip().splitlines()) == 1


def test_a_comment_is_scored_again_in_the_context_the_service_scores_new_ones(service):
    """The stored article, the remembered thread (without the comment itself) and the parent, whatever the batch."""
    from moderation.service import Incoming
    from moderation.service.articles import ArticleCache
    from moderation.store.models import Article

    store, moderation = service.extensions["moderation.store"], service.extensions["moderation.service"]
    with store.session() as session:
        session.add(Article(id="library", title="Library adds evening hours",
                            body="The central library will stay open until nine and lend laptops to students."))
    moderation.articles = ArticleCache(store, 0)
    moderation.thread_memory.remember([("library", "kind", QUEUE[0][1]), ("library", "earlier", "Lovely news.")])
    queue.save(store, [queue.ToStore("reply", "Laptops for students, finally!", "library", "kind", None,
                                     HELD_BY_OLD, None, OLD)])
    alone = {item.id: moderation.moderate([item], store="none", remember=False)[1][0].result.as_dict()
             for item in [Incoming("reply", "Laptops for students, finally!", "library", "kind"),
                          Incoming("laptops", QUEUE[3][1], "library")]}
    rescore(moderation, batch_size=2)
    for client_id, result in alone.items():
        comment = stored(service, client_id)
        assert queue.stored_result(comment) == result and comment.warnings == []


def test_migration_0006_adds_and_removes_the_rescore_record(database_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from moderation.store import Store
    from moderation.store.database import MIGRATIONS

    store = Store(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    def migrate(step, revision):
        with store.engine.begin() as connection:
            config.attributes["connection"] = connection
            step(config, revision)
        return {column["name"] for column in inspect(store.engine).get_columns("comments")}

    assert "rescored" not in migrate(command.upgrade, "0005")
    assert "rescored" in migrate(command.upgrade, "0006")
    assert "rescored" not in migrate(command.downgrade, "0005")
    store.dispose()

"""Looking after the store: schema upgrades, exporting reviews as training data, retention."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .common import InputError, open_store, progress


@click.group()
def db():
    """Database schema."""


@db.command("upgrade")
def db_upgrade():
    """Apply pending schema migrations to $MODERATION_DATABASE_URL (or the embedded SQLite file)."""
    store = open_store()
    click.echo(f"database schema is up to date ({store.engine.url.render_as_string(hide_password=True)})")


@click.group()
def review():
    """The review queue from the command line."""


@review.command("export")
@click.option("--since", type=click.DateTime(), default=None, help="Only decisions from this date (UTC) on.")
@click.option("--out", "out", type=click.File("w", encoding="utf-8"), default="-", help="JSONL file (default stdout).")
@click.option("--articles", "articles_out", type=click.File("w", encoding="utf-8"), default=None,
              help="Also write the stored articles (id, title, body) here.")
@click.option("--no-feedback", is_flag=True, help="Leave out scores suggested through comments:suggestscore.")
def review_export(since, out, articles_out, no_feedback):
    """Write moderators' decisions (and suggested scores) as training data in the project's schema."""
    from datetime import timezone

    from ..review.export import article_rows, training_rows

    store = open_store()
    rows = training_rows(store, since.replace(tzinfo=timezone.utc) if since else None, not no_feedback)
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    if articles_out:
        for row in article_rows(store):
            articles_out.write(json.dumps(row, ensure_ascii=False) + "\n")
    click.echo(f"{len(rows)} labelled comments exported", err=True)


@review.command("rescore")
@click.option("--since", type=click.DateTime(), default=None, help="Only comments stored from this date (UTC) on.")
@click.option("--dry-run", is_flag=True, help="Report what the current model would decide; change nothing.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=200, show_default=True,
              help="Comments read, scored and written in one short transaction.")
def review_rescore(since, dry_run, batch_size):
    """Score held comments again with the current model and apply its decisions; people's decisions stand.

    The service's configuration (policy, author rules, rejection reasons, webhook) is read as the server reads
    it, so a comment is decided as a new one would be.
    """
    from datetime import timezone

    from sqlalchemy.exc import OperationalError

    from ..service.rescore import rescore
    from ..store import StoreUnavailable
    from ..web.app import create_app, shutdown

    try:
        app = create_app({"MODEL_POLL_SECONDS": 0, "WEBHOOK_POLL_SECONDS": 0})
    except OperationalError as error:
        raise InputError(f"the store is unreachable: {str(error.orig).strip().splitlines()[0]}") from None
    bar = progress("re-scoring", " comments")
    try:
        report = rescore(app.extensions["moderation.service"], since.replace(tzinfo=timezone.utc) if since else None,
                         dry_run, batch_size, subscribed=app.config["WEBHOOK_EVENTS"],
                         codes=app.config["REJECTION_REASONS"], on_batch=bar.update)
    except StoreUnavailable as error:
        raise InputError(f"the store is unreachable: {error}") from None
    finally:
        bar.close()
        shutdown(app)
    counts = report.decisions
    if dry_run:
        click.echo(f"dry run, nothing changed: model {report.model_version} would approve {counts['approve']}, "
                   f"hold {counts['review']} and reject {counts['reject']} of {report.rescored} held comments "
                   f"({report.changed} decisions would change)")
        return
    click.echo(f"re-scored {report.rescored} held comments with model {report.model_version}: {counts['approve']} "
               f"approved, {counts['review']} still held, {counts['reject']} rejected ({report.changed} decisions "
               f"changed; {report.left_to_people} decided by a person meanwhile, left as they decided)")


@click.command()
@click.option("--older-than", "days", type=click.FloatRange(min=0), default=None, metavar="DAYS",
              help="Remove what was stored more than DAYS days ago.")
@click.option("--author", "author_id", default=None, metavar="ID",
              help="Erase one author: their history, stored comments and remembered thread entries.")
@click.option("--keep-labels", is_flag=True,
              help="Keep decided comments' labels and scores, without text, author or parent.")
def purge(days, author_id, keep_labels):
    """Apply a retention period to stored comments, thread memory and suggested scores, or erase an author."""
    if (days is None) == (author_id is None):
        raise click.UsageError("give --older-than DAYS or --author ID (one of them)")
    if author_id is not None:
        from ..review.authors import purge_author

        erased = purge_author(open_store(), author_id, keep_labels)
        click.echo(f"author {author_id}: deleted {erased.comments_deleted} comments, anonymised "
                   f"{erased.comments_anonymised}, deleted {erased.thread_entries_deleted} thread entries and "
                   f"{erased.events_deleted} decisions")
        return
    from ..review.retention import purge as run_purge

    report = run_purge(open_store(), days, keep_labels)
    click.echo(f"deleted {report.comments_deleted} comments, anonymised {report.comments_anonymised}, "
               f"deleted {report.thread_entries_deleted} thread entries and {report.feedback_deleted} feedback rows, "
               f"{report.author_events_deleted} authors' decisions and {report.authors_deleted} authors")


@click.group()
def wordlists():
    """Word lists: words, phrases and patterns to hold or reject."""


@wordlists.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default=None, help="The list's name (default: the file's name without its extension).")
@click.option("--action", type=click.Choice(["review", "reject"]), default="review", show_default=True,
              help="For a plain-text file: what a match does.")
@click.option("--reason", default=None, help="For a plain-text file: the reason code, e.g. ABUSIVE.")
def wordlists_import(file, name, action, reason):
    """Create or replace a list from FILE: JSON as PUT /v1/wordlists/{name} takes, or one entry a line."""
    from ..service import wordlists as lists

    name = name or file.stem
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{file}: not valid UTF-8") from None
    if file.suffix.lower() == ".json":
        try:
            body = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(f"{file}: not valid JSON ({error.msg} at line {error.lineno})") from None
    else:
        body = {"entries": [{"text": line.strip(), "action": action, **({"reason": reason} if reason else {})}
                            for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]}
    try:
        word_list = lists.parse(body, name)
    except lists.WordListError as error:
        raise InputError(f"{file}: {error}") from None
    _, created = lists.put(open_store(), name, word_list)
    click.echo(f"word list {name}: {'created' if created else 'replaced'} with {len(word_list.entries)} entries "
               "(other workers see it within ARTICLE_CACHE_SECONDS)")

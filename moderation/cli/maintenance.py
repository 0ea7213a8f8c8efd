"""Looking after the store: schema upgrades, exporting reviews as training data, retention."""
from __future__ import annotations

import json

import click

from .common import open_store


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


@click.command()
@click.option("--older-than", "days", type=click.FloatRange(min=0), required=True, metavar="DAYS",
              help="Remove what was stored more than DAYS days ago.")
@click.option("--keep-labels", is_flag=True,
              help="Keep decided comments' labels and scores, without text, author or parent.")
def purge(days, keep_labels):
    """Apply a retention period to stored comments, thread memory and suggested scores."""
    from ..review.retention import purge as run_purge

    report = run_purge(open_store(), days, keep_labels)
    click.echo(f"deleted {report.comments_deleted} comments, anonymised {report.comments_anonymised}, "
               f"deleted {report.thread_entries_deleted} thread entries and {report.feedback_deleted} feedback rows")

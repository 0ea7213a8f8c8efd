"""The ``moderation`` command line: score files, manage model versions, and commands that plug in.

Training commands live in the ``training`` package and join this group through the ``moderation.cli``
entry-point group, so the service never imports training code.
"""
from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click

from .. import settings
from ..runtime.artifact import Artifact, ArtifactError, Registry, load
from ..model.features import MAX_THREAD, Comment
from ..server import DEFAULT_THREADS, DEFAULT_WORKERS


class InputError(click.ClickException):
    """Bad input: printed as one line naming the file or line, exit status 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.format_message()}", err=True)


class Group(click.Group):
    """A click group that turns known domain errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ArtifactError as error:
            raise InputError(str(error)) from None
        except ValueError as error:
            if type(error).__name__ in ("DataError", "PolicyError"):
                raise InputError(str(error)) from None
            raise


@click.group(cls=Group)
@click.version_option(package_name="comment-moderation")
def cli():
    """Self-hosted comment moderation: toxicity and off-topic scores, decisions, review."""


def registry_option(function):
    return click.option("--models", "models_dir", type=click.Path(file_okay=False, path_type=Path),
                        default=None, help="Model registry directory (default: $MODERATION_HOME/models).")(function)


def open_registry(models_dir: Path | None) -> Registry:
    return Registry(models_dir or settings.models_dir())


def resolve_model(model: Path | None, models_dir: Path | None = None) -> Artifact:
    """A version directory, a registry directory (its current version), or the default registry's current."""
    if model is None:
        return open_registry(models_dir).load_current()
    if (model / "metadata.json").exists():
        return load(model)
    if model.is_dir():
        return Registry(model).load_current()
    raise InputError(f"{model}: no such model directory")


def _read_article_file(path: Path) -> str:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read article ({error.__class__.__name__})") from None
    if path.suffix.lower() == ".json":
        try:
            article = json.loads(raw)
        except json.JSONDecodeError as error:
            raise InputError(f"{path}: invalid JSON ({error.msg})") from None
        if not isinstance(article, dict) or not isinstance(article.get("title", ""), str):
            raise InputError(f"{path}: an article is a JSON object with 'title' and 'body'")
        return "\n".join(str(article.get(k) or "") for k in ("title", "body")).strip()
    return raw.strip()


def _read_articles(path: Path) -> dict[str, str]:
    from ..service.articles import read_article_texts

    try:
        return read_article_texts(path)
    except ValueError as error:
        raise InputError(str(error)) from None


def _parse_line(line: str, where: str) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: invalid JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: 'text' must be a non-empty string")
    return row


@cli.command()
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Model version directory or registry (default: the current model).")
@registry_option
@click.option("--article", "article_file", type=click.Path(path_type=Path), default=None,
              help="The one article for all comments: .json with title/body, or text whose first line is the title.")
@click.option("--articles", "articles_file", type=click.Path(path_type=Path), default=None,
              help="Articles (JSONL/CSV with id, title, body) matched by each comment's article_id.")
@click.option("--skip-invalid", is_flag=True, help="Report and skip bad lines instead of stopping.")
@click.option("--explain", is_flag=True, help="Add the spans that drove each flag.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=512, show_default=True)
@click.argument("input_file", metavar="[INPUT]", required=False, type=click.Path(path_type=Path))
def score(model, models_dir, article_file, articles_file, skip_invalid, explain, batch_size, input_file):
    """Score JSONL comments (id, text, optional article_id, parent_id) from INPUT or stdin; JSONL out."""
    from tqdm import tqdm

    from ..runtime.scorer import Scorer

    if article_file and articles_file:
        raise InputError("use --article or --articles, not both")
    scorer = Scorer(resolve_model(model, models_dir))
    single_article = _read_article_file(article_file) if article_file else None
    articles = _read_articles(articles_file) if articles_file else {}
    name = str(input_file) if input_file else "<stdin>"
    try:
        handle = open(input_file, encoding="utf-8") if input_file else sys.stdin
    except OSError as error:
        raise InputError(f"{input_file}: cannot open ({error.strerror})") from None
    threads: dict[str, list[str]] = {}
    texts_by_id: dict[str, str] = {}
    batch: list[tuple[dict, Comment]] = []

    def flush():
        results = scorer.moderate([c for _, c in batch], explain=explain)
        for (row, _), result in zip(batch, results):
            out = {"id": row.get("id"), **result.as_dict(), "model_version": scorer.version}
            if not explain:
                out.pop("spans")
            click.echo(json.dumps(out, ensure_ascii=False))
        batch.clear()

    errors = 0
    with handle:
        try:
            for number, line in enumerate(tqdm(handle, desc="scoring", unit=" comments", file=sys.stderr,
                                               disable=None, mininterval=1), start=1):
                if not line.strip():
                    continue
                try:
                    row = _parse_line(line, f"{name}:{number}")
                except ValueError as error:
                    if not skip_invalid:
                        raise InputError(str(error)) from None
                    errors += 1
                    click.echo(f"skipped {error}", err=True)
                    continue
                article_id = row.get("article_id")
                article_key = str(article_id) if article_id is not None else None
                thread = threads.setdefault(article_key, []) if article_key else []
                article = single_article or (articles.get(article_key) if article_key else None)
                parent = texts_by_id.get(str(row.get("parent_id"))) if row.get("parent_id") is not None else None
                batch.append((row, Comment(row["text"], article, tuple(thread[-MAX_THREAD:]), parent)))
                if article_key:
                    thread.append(row["text"])
                if row.get("id") is not None:
                    texts_by_id[str(row["id"])] = row["text"]
                if len(batch) >= batch_size:
                    flush()
        except UnicodeDecodeError:
            raise InputError(f"{name}: not valid UTF-8") from None
    if batch:
        flush()
    if errors:
        click.echo(f"{errors} invalid line(s) skipped", err=True)


@cli.group()
def models():
    """List, promote and roll back model versions."""


@models.command("list")
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON.")
def models_list(models_dir, as_json):
    """List model versions, oldest first; the current one is marked with *."""
    registry = open_registry(models_dir)
    current = registry.current()
    versions = registry.versions()
    if as_json:
        click.echo(json.dumps({"current": current, "versions": versions}, indent=2))
        return
    if not versions:
        click.echo(f"no models in {registry.root}; train one with `moderation train`")
    for meta in versions:
        mark = "*" if meta["version"] == current else " "
        if "error" in meta:
            click.echo(f"{mark} {meta['version']}  UNREADABLE: {meta['error']}")
            continue
        auc = (meta.get("metrics", {}).get("toxic") or {}).get("roc_auc")
        click.echo(f"{mark} {meta['version']}  created {meta.get('created', '?')}  labels {len(meta.get('labels', []))}"
                   f"  toxic ROC-AUC {auc}  rows {meta.get('training', {}).get('rows', '?')}")


@models.command()
@registry_option
@click.argument("version")
def promote(models_dir, version):
    """Verify VERSION and make it the current model; running services switch to it."""
    meta = open_registry(models_dir).promote(version)
    click.echo(f"current model: {meta['version']}")


@models.command()
@registry_option
def rollback(models_dir):
    """Make the previously promoted version current again."""
    meta = open_registry(models_dir).rollback()
    click.echo(f"current model: {meta['version']}")


def open_store():
    from ..store import Store

    store = Store(settings.database_url())
    store.upgrade()
    return store


@cli.group()
def keys():
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option("--scopes", default="score", show_default=True, help="Comma-separated: score, review, admin.")
def keys_create(name, scopes):
    """Create a key and print it once (only its hash is stored)."""
    from ..service import keys as api_keys

    try:
        secret, info = api_keys.create(open_store(), name, [s.strip() for s in scopes.split(",") if s.strip()])
    except api_keys.KeyError_ as error:
        raise InputError(str(error)) from None
    click.echo(secret)
    click.echo(f"key {info.id} ({info.name}, scopes {','.join(info.scopes)}): store it now, it is not shown again",
               err=True)


@keys.command("list")
def keys_list():
    """List keys (never their secrets)."""
    from ..service import keys as api_keys

    for info in api_keys.list_keys(open_store()):
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        click.echo(f"{info.id:>4}  mk_{info.prefix}_…  {info.name:<24} {','.join(info.scopes):<20} "
                   f"created {info.created_at:%Y-%m-%d %H:%M}  {state}")


@keys.command("revoke")
@click.argument("key")
def keys_revoke(key):
    """Revoke a key by its id or prefix; requests with it are refused within seconds."""
    from ..service import keys as api_keys

    try:
        info = api_keys.revoke(open_store(), key.removeprefix("mk_").split("_")[0])
    except api_keys.KeyError_ as error:
        raise InputError(str(error)) from None
    click.echo(f"revoked key {info.id} ({info.name})")


@cli.group()
def db():
    """Database schema."""


@db.command("upgrade")
def db_upgrade():
    """Apply pending schema migrations to $MODERATION_DATABASE_URL (or the embedded SQLite file)."""
    store = open_store()
    click.echo(f"database schema is up to date ({store.engine.url.render_as_string(hide_password=True)})")


@cli.group()
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


@cli.command()
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


@cli.command()
@click.option("--bind", envvar="MODERATION_BIND", default="127.0.0.1:8000", show_default=True,
              help="HOST:PORT to listen on (MODERATION_BIND).")
@click.option("--workers", envvar="MODERATION_WORKERS", default=DEFAULT_WORKERS, show_default=True,
              type=click.IntRange(1),
              help="Worker processes, one per core (MODERATION_WORKERS).")
@click.option("--threads", envvar="MODERATION_THREADS", default=DEFAULT_THREADS, show_default=True,
              type=click.IntRange(1),
              help="Request threads per worker (MODERATION_THREADS).")
@click.option("--dev", is_flag=True, help="Flask's development server instead (one process, reloads nothing).")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --dev: a file holding an API key, quoted in the printed curl example.")
def serve(bind, workers, threads, dev, key_file):
    """Run the service: granian with WSGI workers (production; logs are JSON lines), or Flask's development
    server (--dev)."""
    from ..server import bind_address

    try:
        host, port = bind_address(bind)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--bind") from None
    if dev:
        from ..web.app import create_app

        key = key_file.read_text().strip() if key_file and key_file.exists() else "YOUR_KEY"
        click.echo(f"listening on http://{host}:{port}  (docs /docs, review UI /review, metrics /metrics)\n"
                   f"try:\n  curl -s http://{host}:{port}/v1/moderate -H 'Authorization: Bearer {key}' "
                   "-H 'Content-Type: application/json' \\\n"
                   "       -d '{\"comment\": {\"id\": \"1\", \"text\": \"You are a clown.\"}}'", err=True)
        create_app().run(host=host, port=port, threaded=True)
        return
    from ..server import serve as run_production

    run_production(bind, workers, threads)


def _load_plugins() -> None:
    from .users import users
    cli.add_command(users)
    for entry in entry_points(group="moderation.cli"):
        if entry.name not in cli.commands:
            cli.add_command(entry.load(), entry.name)


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit status when called from tests with ``standalone_mode``."""
    _load_plugins()
    return cli.main(args=argv, prog_name="moderation")

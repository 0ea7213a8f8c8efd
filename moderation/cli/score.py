"""``moderation score``: JSON-lines comments in, scores, decisions and (optionally) spans out."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..files import json_object
from ..model.comment import Comment, ThreadContext
from .common import InputError, registry_option, resolve_model


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


def _progress(lines):
    """``lines`` with a progress bar on a terminal's stderr, when tqdm (the [train] extra) is installed."""
    try:
        from tqdm import tqdm
    except ImportError:
        return lines
    return tqdm(lines, desc="scoring", unit=" comments", file=sys.stderr, disable=None, mininterval=1)


def _key(value) -> str | None:
    """An id as the comment system sent it, as text; None when absent or empty."""
    return str(value) if value not in (None, "") else None


def _parse_line(line: str, where: str) -> dict:
    row = json_object(line, where)
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: 'text' must be a non-empty string")
    return row


@click.command()
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
    context = ThreadContext()
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
            for number, line in enumerate(_progress(handle), start=1):
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
                article_id = _key(row.get("article_id"))
                article = single_article or articles.get(article_id)
                batch.append((row, context.comment(row["text"], _key(row.get("id")), article_id,
                                                   _key(row.get("parent_id")), article)))
                if len(batch) >= batch_size:
                    flush()
        except UnicodeDecodeError:
            raise InputError(f"{name}: not valid UTF-8") from None
    if batch:
        flush()
    if errors:
        click.echo(f"{errors} invalid line(s) skipped", err=True)

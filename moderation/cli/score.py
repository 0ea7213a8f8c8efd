"""``moderation score``: JSON-lines comments in, scores, decisions and (optionally) spans out."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .common import InputError, progress, registry_option, resolve_model_dir


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
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=512, show_default=True,
              help="Comments per chunk: what one process scores at a time.")
@click.option("--jobs", type=click.IntRange(1, 1024), default=None,
              help="Processes scoring chunks side by side (default: all cores; 1 scores in this process).")
@click.option("--dask", "scheduler", metavar="ADDRESS", default=None,
              help="Score on this Dask scheduler (needs the [dask] extra): INPUT is a directory of .jsonl or "
                   ".parquet partitions (or one such file), written to --output, one file per partition.")
@click.option("--output", "output_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --dask: the directory for the scored partitions.")
@click.argument("input_file", metavar="[INPUT]", required=False, type=click.Path(path_type=Path))
def score(model, models_dir, article_file, articles_file, skip_invalid, explain, batch_size, jobs, scheduler,
          output_dir, input_file):
    """Score JSONL comments (id, text, optional article_id, parent_id) from INPUT or stdin; JSONL out."""
    from ..bulk import records

    if article_file and articles_file:
        raise InputError("use --article or --articles, not both")
    model_dir = resolve_model_dir(model, models_dir)  # loaded where it scores: here or in each worker
    single_article = _read_article_file(article_file) if article_file else None
    articles = _read_articles(articles_file) if articles_file else {}
    if scheduler:
        return _score_on_dask(scheduler, input_file, output_dir, model_dir, articles, single_article, explain)
    if output_dir:
        raise InputError("--output goes with --dask; without it, scores go to stdout")
    name = str(input_file) if input_file else "<stdin>"
    try:
        handle = open(input_file, encoding="utf-8") if input_file else sys.stdin
    except OSError as error:
        raise InputError(f"{input_file}: cannot open ({error.strerror})") from None
    errors = []

    def skip(error: ValueError) -> None:
        errors.append(error)
        click.echo(f"skipped {error}", err=True)

    bar = progress("scoring", " comments")
    with handle:
        rows = records.read_rows(handle, name, skip if skip_invalid else None)
        chunks = records.chunked(records.records_in_context(rows, articles, single_article), batch_size)
        try:
            _write_scores(model_dir, chunks, jobs, explain, batch_size, bar)
        except ValueError as error:
            raise InputError(str(error)) from None
        finally:
            bar.close()
    if errors:
        click.echo(f"{len(errors)} invalid line(s) skipped", err=True)


def _write_scores(model_dir: Path, chunks, jobs: int | None, explain: bool, batch_size: int, bar) -> None:
    from ..bulk import score_chunks

    for lines in score_chunks(model_dir, chunks, jobs, explain, batch_size):
        sys.stdout.write("".join(f"{line}\n" for line in lines))
        bar.update(len(lines))
    sys.stdout.flush()


def _score_on_dask(scheduler: str, source: Path | None, output_dir: Path | None, model_dir: Path,
                   articles: dict[str, str], single_article: str | None, explain: bool) -> None:
    """``moderation score --dask``: partitions in, one scored file per partition out, a summary line each."""
    if source is None or output_dir is None:
        raise InputError("--dask needs INPUT (a directory of partitions or one file) and --output DIRECTORY")
    if single_article or explain:
        raise InputError("--dask takes --articles, not --article or --explain")
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise InputError("--dask needs the [dask] extra: pip install 'comment-moderation[dask]'") from None
    from ..bulk import score_files_on_dask

    bar = progress("partitions", " partitions")
    try:
        done = score_files_on_dask(scheduler, source, output_dir, model_dir, articles,
                                   on_done=lambda summary: bar.update())
    except (ValueError, OSError) as error:
        raise InputError(str(error)) from None
    finally:
        bar.close()
    for summary in done:
        click.echo(json.dumps(summary))

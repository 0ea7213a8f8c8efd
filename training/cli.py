"""Training commands of the ``moderation`` CLI: train, evaluate, import (joined through entry points)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import click
import numpy as np

from moderation import settings
from moderation.cli.models import not_deciding
from moderation.model.classifier import LabelSkippedWarning
from moderation.runtime.artifact import Registry

from .importers import FORMATS
from .schema import DataError

_format_choice = click.Choice(FORMATS)


def _pair_formats(data: tuple[str, ...], formats: tuple[str, ...]) -> list[tuple[str, str]]:
    if formats and len(formats) not in (1, len(data)):
        raise DataError(f"give one --format for all --data, or one per --data ({len(data)} given, "
                        f"{len(formats)} formats)")
    formats = formats * len(data) if len(formats) == 1 else formats or ("native",) * len(data)
    return list(zip(formats, data))


def _parse_weights(values: tuple[str, ...]) -> dict[str, float]:
    weights = {}
    for value in values:
        name, _, number = value.partition("=")
        try:
            weights[name] = float(number)
        except ValueError:
            raise DataError(f"--source-weight {value!r}: expected SOURCE=NUMBER") from None
    return weights


@click.command()
@click.option("--data", multiple=True, type=click.Path(path_type=str),
              help="Labelled comments (repeatable); default: the bundled corpus in data/.")
@click.option("--format", "formats", multiple=True, type=_format_choice,
              help="Format of --data (once for all, or once per --data); default native.")
@click.option("--articles", multiple=True, type=click.Path(path_type=str), help="Articles file(s): id, title, body.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Model registry directory to write the new version into (default: $MODERATION_HOME/models).")
@click.option("--promote/--no-promote", default=True, show_default=True, help="Make the new version current.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--source-weight", "source_weights", multiple=True, metavar="SOURCE=W",
              help="Sample weight of one corpus (its source name, e.g. toxic-spans=0.5).")
@click.option("--include-reviews", is_flag=True, help="Add moderators' decisions from the review store.")
def train(data, formats, articles, out_dir, promote, seed, source_weights, include_reviews):
    """Train a new model version, evaluate it on held-out articles, and (by default) promote it."""
    from .train import default_articles, default_data, load_data, merge_reviews
    from .train import train as run_training

    pairs = _pair_formats(tuple(data), tuple(formats)) if data else default_data()
    article_paths = list(articles) if (articles or data) else default_articles()
    training_data = load_data(pairs, article_paths)
    if include_reviews:
        from moderation.cli.common import open_store
        from moderation.review.export import article_rows, training_rows

        store = open_store()
        rows = training_rows(store)
        training_data = merge_reviews(training_data, rows, article_rows(store))
        click.echo(f"added {len(rows)} reviewed comments from the review store", err=True)
    registry = Registry(out_dir or settings.models_dir())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LabelSkippedWarning)
        _, metadata = run_training(training_data, registry, seed=seed, source_weights=_parse_weights(source_weights),
                                   log=lambda message: click.echo(message, err=True))
    for warning in caught:
        click.echo(f"warning: {warning.message}", err=True)
    click.echo(f"model version: {metadata['version']}  ({metadata['path']})")
    click.echo(f"{'label':<16}{'test rows':>10}{'positives':>10}{'ROC-AUC':>9}{'PR-AUC':>8}")
    for label, entry in metadata["metrics"].items():
        click.echo(f"{label:<16}{entry['rows']:>10}{entry['positives']:>10}{_fmt(entry['roc_auc']):>9}"
                   f"{_fmt(entry['pr_auc']):>8}")
    for label in metadata["training"]["skipped_labels"]:
        click.echo(f"{label:<16} skipped: too few labelled positives")
    chosen = metadata["training"]["thresholds"]
    click.echo(f"thresholds chosen on {chosen['rows']} training rows scored out of fold ({chosen['folds']} article "
               f"folds)")
    for line in not_deciding(metadata):
        click.echo(line)
    if promote:
        registry.promote(metadata["version"])
        click.echo(f"promoted {metadata['version']} to current")


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


@click.command()
@click.option("--model", type=click.Path(path_type=Path), default=None, help="Model version or registry directory.")
@click.option("--data", multiple=True, required=True, type=click.Path(path_type=str), help="Labelled comments.")
@click.option("--format", "formats", multiple=True, type=_format_choice)
@click.option("--articles", multiple=True, type=click.Path(path_type=str))
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write report.json and report.html here (default: ./evaluation-<version>).")
def evaluate(model, data, formats, articles, report_dir):
    """Evaluate a model on labelled data: ROC-AUC, PR-AUC, precision/recall/F1 at its thresholds."""
    from moderation.cli.common import resolve_model
    from moderation.runtime.scorer import Scorer

    from .evaluate import evaluate_predictions, write_report
    from .schema import LABELS
    from .train import build_comments, load_data

    artifact = resolve_model(model)
    scorer = Scorer(artifact)
    pairs = _pair_formats(tuple(data), tuple(formats))
    loaded = load_data(pairs, list(articles))
    y = loaded.frame[[label for label in scorer.labels if label in LABELS]].to_numpy(dtype=float)
    if np.isnan(y).all():
        raise DataError(f"{', '.join(path for _, path in pairs)}: no labels to evaluate against (the model scores "
                        f"{', '.join(scorer.labels)}; every row leaves them blank)")
    comments = build_comments(loaded.frame, loaded.articles)
    scores = scorer.predict(comments)
    metrics = evaluate_predictions(y, scores, scorer.labels, artifact.thresholds)
    report = {"model_version": scorer.version, "data": [path for _, path in pairs], "rows": len(comments),
              "metrics": metrics}
    path = write_report(report_dir or Path(f"evaluation-{scorer.version}"), report, y, scores, scorer.labels)
    for label, entry in metrics.items():
        click.echo(f"{label:<16}rows {entry['rows']:>6}  positives {entry['positives']:>5}  "
                   f"ROC-AUC {_fmt(entry['roc_auc'])}  PR-AUC {_fmt(entry['pr_auc'])}")
    click.echo(f"report: {path}")


@click.command("import")
@click.option("--format", "fmt", type=_format_choice, required=True)
@click.argument("path", type=click.Path(path_type=str))
@click.argument("output", type=click.File("w", encoding="utf-8"), default="-")
def import_command(fmt, path, output):
    """Convert a public corpus at PATH into the project's JSONL training schema (to OUTPUT or stdout)."""
    from .importers import import_corpus

    frame = import_corpus(fmt, path)
    for row in frame.to_dict("records"):
        clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        output.write(json.dumps(clean, ensure_ascii=False) + "\n")
    click.echo(f"{len(frame)} comments written", err=True)

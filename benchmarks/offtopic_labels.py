"""How off-topic learns from rater shares: the choice behind ``training.train.MAJORITY_LABELS``, made on C3's
training side only.

C3's training articles (the quality benchmark's split, so its test articles never take part) are split again
by article: a model is fitted on four fifths of them (with toxic spans, weighted as in the quality benchmark)
and the swap test of the quality benchmark is run on the other fifth. Twice: with off-topic learnt from the
share of raters who called a comment irrelevant, and from their majority. Thresholds play no part in a
ranking, so each fit chooses them on 2 article folds instead of 5. Run from the repository root::

    python -m benchmarks.offtopic_labels

Writes ``benchmarks/results/offtopic_labels.json`` and ``.md`` and prints the table (about 10 minutes).
"""
from __future__ import annotations

import time
import warnings

import pandas as pd

from moderation.model.classifier import LabelSkippedWarning
from training.train import MAJORITY_LABELS, TrainingData, train

from .corpora import load_shared, split_by_article, write_results
from .quality import SOURCE_WEIGHTS, off_topic

VALIDATION_SEED = 1  # the second split's seed (the quality benchmark's split uses corpora.SEED)
VALIDATION_SIZE = 0.2
RESAMPLES = 1000
VARIANTS = {"rater shares": (), "majority of raters": MAJORITY_LABELS}


def training_side() -> tuple[pd.DataFrame, pd.DataFrame]:
    """C3's training articles (the quality benchmark's split) split again by article: (fit, validation)."""
    c3 = load_shared("c3")
    training_rows, _ = split_by_article(c3)
    frame = c3.iloc[training_rows].reset_index(drop=True)
    fit_rows, validation_rows = split_by_article(frame, seed=VALIDATION_SEED, test_size=VALIDATION_SIZE)
    return frame.iloc[fit_rows].reset_index(drop=True), frame.iloc[validation_rows].reset_index(drop=True)


def fit_beside_toxic_spans(fit: pd.DataFrame, **options):
    """``train()`` on ``fit`` and toxic spans, weighted as the quality benchmark's C3 fit, thresholds on 2 article
    folds; ``options`` go to ``train()``. Returns the pipeline, its metadata and the seconds it took."""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelSkippedWarning)
        pipeline, metadata = train(TrainingData(pd.concat([fit, load_shared("toxic-spans")], ignore_index=True)),
                                   seed=0, source_weights=SOURCE_WEIGHTS["c3"], test_size=0.0, folds=2,
                                   log=lambda line: None, **options)
    return pipeline, metadata, round(time.perf_counter() - started, 1)


def measure() -> dict:
    fit, validation = training_side()
    rows = []
    for name, majority in VARIANTS.items():
        pipeline, metadata, seconds = fit_beside_toxic_spans(fit, majority_labels=majority)
        measured = off_topic("C3 training side", "semantic", "validation articles", pipeline, metadata, validation, {},
                             fit["text"].tolist(), "article", RESAMPLES)
        rows.append({"off_topic_from": name, "fit_seconds": seconds,
                     "context_swaps": metadata["training"]["context_swaps"], "labelled": measured["labelled"],
                     "positives": measured["positives"], **measured["swap"]})
    return {"fit_articles": int(fit["article_id"].nunique()), "validation_articles": int(validation["article_id"].nunique()),
            "rows": rows}


def markdown(report: dict) -> str:
    lines = [f"### Off-topic from rater shares or their majority: swap test on C3 training-side articles "
             f"({report['validation_articles']} validation articles, model fitted on {report['fit_articles']})", "",
             "| off-topic learnt from | comments | swap ROC-AUC | 95% interval | encoder cosine | context swaps | "
             "`non_relevant` majority: positives | ROC-AUC | 95% interval |",
             "|---|---:|---:|---|---:|---:|---:|---:|---|"]
    for row in report["rows"]:
        ours, cosine = row["ranking"]["ours"], row["ranking"]["encoder cosine"]
        labelled = row["labelled"]["ours"] if row["labelled"] else None
        lines.append(f"| {row['off_topic_from']} | {row['comments']} | {ours['roc_auc']:.3f} | "
                     f"{ours['roc_auc_ci'][0]:.3f}–{ours['roc_auc_ci'][1]:.3f} | {cosine['roc_auc']:.3f} | "
                     f"{row['context_swaps']} | {row['positives']} | "
                     + (f"{labelled['roc_auc']:.3f} | {labelled['roc_auc_ci'][0]:.3f}–{labelled['roc_auc_ci'][1]:.3f} |"
                        if labelled else "– | – |"))
    return "\n".join(lines) + "\n\nIntervals: 95% percentile bootstrap over validation articles.\n"


def main() -> dict:
    report = measure()
    table = markdown(report)
    write_results("offtopic_labels", report, table)
    print(table)
    return report


if __name__ == "__main__":
    main()

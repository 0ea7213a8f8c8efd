"""What rationale contrasts cost toxicity ranking on news comments: the second half of the choice behind
``training.train.RATIONALE_WEIGHT``, made on C3's training side only.

``benchmarks.spans`` ranks the contrast weights by the explanations' F1 on validation posts of toxic spans; a
weight that bought better spans with worse ranking would be a bad trade. Here C3's training articles (the
quality benchmark's split, so its test articles never take part) are split again by article as in
``benchmarks.offtopic_labels``; a model is fitted on four fifths of them with toxic spans (weighted as in the
quality benchmark) at each contrast weight, and its toxic and insult ROC-AUC is measured on the other fifth
beside the peer's. Run from the repository root::

    python -m benchmarks.rationale_toxicity

Writes ``benchmarks/results/rationale_toxicity.json`` and ``.md`` and prints the table (about 20 minutes).
"""
from __future__ import annotations

from .corpora import write_results
from .offtopic_labels import fit_beside_toxic_spans, training_side
from .quality import toxicity

WEIGHTS = (0.0, 1.0, 3.0, 10.0)
RESAMPLES = 1000


def measure() -> dict:
    fit, validation = training_side()
    rows = []
    for weight in WEIGHTS:
        pipeline, _, seconds = fit_beside_toxic_spans(fit, rationale_weight=weight)
        measured = toxicity("C3 training side", "semantic", "validation articles", pipeline, validation, {}, "article",
                            RESAMPLES)
        rows.append({"rationale_weight": weight, "fit_seconds": seconds,
                     "labels": [row for row in measured if row["label"] in ("toxic", "insult")]})
    return {"fit_articles": int(fit["article_id"].nunique()), "validation_articles": int(validation["article_id"].nunique()),
            "rows": rows}


def markdown(report: dict) -> str:
    lines = [f"### Rationale contrasts and toxicity ranking on C3 training-side articles "
             f"({report['validation_articles']} validation articles, models fitted on {report['fit_articles']})", "",
             "| contrast weight | label | positives | ROC-AUC | 95% interval | peer | ours − peer |", "|---:|---|---:|---:|---|---:|---|"]
    for row in report["rows"]:
        for entry in row["labels"]:
            ours, peer, difference = (entry[k] for k in ("ours", "peer", "difference"))
            lines.append(f"| {row['rationale_weight']:g} | {entry['label']} | {entry['positives']} | {ours['roc_auc']:.3f} | "
                         f"{ours['roc_auc_ci'][0]:.3f}–{ours['roc_auc_ci'][1]:.3f} | {peer['roc_auc']:.3f} | "
                         f"{difference['roc_auc']:+.3f} ({difference['roc_auc_ci'][0]:+.3f} to "
                         f"{difference['roc_auc_ci'][1]:+.3f}) |")
    return "\n".join(lines) + ("\n\nLabels as the C3 importer gives them (toxic: mean crowd level at least 2; insult: "
                                "at least half of the raters); intervals: 95% percentile bootstrap over validation "
                                "articles.\n")


def main() -> dict:
    report = measure()
    table = markdown(report)
    write_results("rationale_toxicity", report, table)
    print(table)
    return report


if __name__ == "__main__":
    main()

"""Held-out evaluation: ROC-AUC, PR-AUC and precision/recall/F1 at the chosen thresholds, as JSON and HTML."""
from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

from moderation.runtime.policy import THRESHOLD_NAMES


def _at_threshold(truth: np.ndarray, scores: np.ndarray, threshold: float | None) -> dict | None:
    if threshold is None:
        return None
    predicted = scores >= threshold
    tp = int((predicted & truth).sum())
    precision = tp / max(int(predicted.sum()), 1)
    recall = tp / max(int(truth.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"threshold": threshold, "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "predicted_positive": int(predicted.sum())}


def evaluate_predictions(y: np.ndarray, scores: np.ndarray, labels: list[str],
                         thresholds: dict[str, dict] | None = None) -> dict:
    """Per-label metrics of scores against labels (soft labels binarised at 0.5; NaN rows left out).

    Parameters
    ----------
    y : ndarray of shape (n, len(labels))
        True labels, NaN where unknown.
    scores : ndarray of shape (n, len(labels))
        Predicted probabilities.
    labels : list of str
        Column names.
    thresholds : dict, optional
        ``{label: {"flag", "review", "reject", ...}}``; precision/recall/F1 are reported at each (``None``
        for a threshold that is ``None``: a label that never rejects, or does not decide).

    Returns
    -------
    dict
        ``{label: {"rows", "positives", "roc_auc", "pr_auc", "brier", "at": {...}}}``; AUCs are ``None``
        where the test rows hold only one class.
    """
    report = {}
    for j, label in enumerate(labels):
        known = ~np.isnan(y[:, j])
        truth = y[known, j] >= 0.5
        s = scores[known, j]
        entry = {"rows": int(known.sum()), "positives": int(truth.sum()), "roc_auc": None, "pr_auc": None}
        if 0 < truth.sum() < len(truth):
            entry["roc_auc"] = round(float(roc_auc_score(truth, s)), 4)
            entry["pr_auc"] = round(float(average_precision_score(truth, s)), 4)
        if len(truth):
            entry["brier"] = round(float(np.mean((s - y[known, j]) ** 2)), 4)
            limits = (thresholds or {}).get(label, {})
            entry["at"] = {name: _at_threshold(truth, s, limits[name]) for name in THRESHOLD_NAMES if name in limits}
        report[label] = entry
    return report


def _figure_png(y: np.ndarray, scores: np.ndarray, labels: list[str], kind: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 4.5), dpi=100)
    plotted = 0
    for j, label in enumerate(labels):
        known = ~np.isnan(y[:, j])
        truth = y[known, j] >= 0.5
        if not 0 < truth.sum() < len(truth):
            continue
        plotted += 1
        if kind == "roc":
            fpr, tpr, _ = roc_curve(truth, scores[known, j])
            axis.plot(fpr, tpr, label=label)
        else:
            precision, recall, _ = precision_recall_curve(truth, scores[known, j])
            axis.plot(recall, precision, label=label)
    if kind == "roc":
        axis.plot([0, 1], [0, 1], color="grey", linestyle=":")
        axis.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curves")
    else:
        axis.set(xlabel="recall", ylabel="precision", title="Precision-recall curves")
    if plotted:
        axis.legend(fontsize=8)
    else:
        axis.text(0.5, 0.5, "no label has both classes in this data", ha="center", va="center")
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _cell(value) -> str:
    """A metric for the HTML table: a dash where the data cannot measure it (the JSON report has null)."""
    return "–" if value is None else str(value)


def write_report(out_dir: str | Path, report: dict, y: np.ndarray, scores: np.ndarray, labels: list[str]) -> Path:
    """Write ``report.json`` and ``report.html`` (ROC and PR curves, threshold table) into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True), encoding="utf-8")
    rows = []
    for label, entry in report["metrics"].items():
        for name, at in (entry.get("at") or {}).items():
            if at:
                rows.append(f"<tr><td>{html.escape(label)}</td><td>{name}</td><td>{at['threshold']}</td>"
                            f"<td>{at['precision']}</td><td>{at['recall']}</td><td>{at['f1']}</td></tr>")
    summary = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{e['rows']}</td><td>{e['positives']}</td>"
        f"<td>{_cell(e['roc_auc'])}</td><td>{_cell(e['pr_auc'])}</td><td>{_cell(e.get('brier'))}</td></tr>"
        for label, e in report["metrics"].items())
    page = f"""<!doctype html><html lang="en"><meta charset="utf-8">
<title>Evaluation of model {html.escape(report['model_version'])}</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}td:first-child{{text-align:left}}</style>
<h1>Model {html.escape(report['model_version'])}</h1>
<p>Data: {html.escape(', '.join(report['data']))} ({report['rows']} comments).</p>
<h2>Ranking quality</h2><table><tr><th>label</th><th>rows</th><th>positives</th><th>ROC-AUC</th>
<th>PR-AUC</th><th>Brier</th></tr>{summary}</table>
<p>– : not measurable (AUCs need both classes among a label's rows, Brier needs labelled rows).</p>
<h2>At the model's thresholds</h2><table><tr><th>label</th><th>threshold</th><th>value</th><th>precision</th>
<th>recall</th><th>F1</th></tr>{''.join(rows)}</table>
<h2>Curves</h2><img alt="ROC curves" src="data:image/png;base64,{_figure_png(y, scores, labels, 'roc')}">
<img alt="Precision-recall curves" src="data:image/png;base64,{_figure_png(y, scores, labels, 'pr')}">
</html>"""
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path

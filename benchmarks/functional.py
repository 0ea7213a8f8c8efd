"""Functional tests of the classifier: hand-written cases per capability, scored through the real Scorer.

Run from the repository root::

    python -m benchmarks.functional [--model DIR]

``--model`` is a model version or registry directory; without it the default model is trained from the
bundled corpus into a temporary registry. Writes ``benchmarks/results/functional.json`` and ``functional.md``.
"""
from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

from moderation.cli.common import resolve_model
from moderation.model.classifier import LabelSkippedWarning
from moderation.model.comment import Comment
from moderation.runtime.artifact import Artifact, Registry
from moderation.runtime.policy import REJECT
from moderation.runtime.scorer import Result, Scorer
from training.train import load_data, train

from .corpora import RESULTS_DIR, bundled_paths, write_results
from .functional_cases import CAPABILITIES, Case

LABEL_EXPECTATIONS = ("toxic", "insult", "threat", "profanity", "identity_attack")


def _quiet(message: str) -> None:
    """Swallow train()'s progress lines."""


def train_default_model(registry_dir: Path) -> Artifact:
    """Train the default model from the bundled corpus into ``registry_dir`` and load it as the service would."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelSkippedWarning)  # a label it cannot learn simply fails its cases
        _, metadata = train(load_data(*bundled_paths()), Registry(registry_dir), log=_quiet)
    return resolve_model(Path(metadata["path"]))


def passes(case: Case, result: Result, thresholds: dict[str, dict]) -> bool:
    """Whether one scored comment meets its case's expectation (see benchmarks.functional_cases)."""
    scores, decision = result.scores, result.decision

    def below_review(label: str) -> bool:  # a label that does not decide has no review threshold: it never holds
        review = thresholds[label]["review"]
        return review is None or scores[label] < review

    if case.expect == "not_toxic":
        return below_review("toxic") and decision.decision != REJECT
    if case.expect in LABEL_EXPECTATIONS:
        return case.expect in decision.flags
    if case.expect == "profanity_not_attack":
        return decision.decision != REJECT and not {"insult", "threat"} & set(decision.flags)
    if "off_topic" not in scores:
        return False
    return below_review("off_topic") == (case.expect == "on_topic")


def run_cases(scorer: Scorer, capabilities: dict[str, tuple[Case, ...]] = CAPABILITIES) -> dict:
    """Score every case in one batch; pass rate and failures per capability."""
    cases = [(name, case) for name, group in capabilities.items() for case in group]
    results = scorer.moderate([Comment(case.text, case.article, case.thread) for _, case in cases], explain=False)
    thresholds = scorer.policy.thresholds
    report = {name: {"cases": 0, "passed": 0, "failures": []} for name in capabilities}
    for (name, case), result in zip(cases, results):
        entry = report[name]
        entry["cases"] += 1
        if passes(case, result, thresholds):
            entry["passed"] += 1
        else:
            entry["failures"].append({"text": case.text, "expect": case.expect, "decision": result.decision.decision,
                                      "flags": result.decision.flags, "scores": result.scores})
    for entry in report.values():
        entry["pass_rate"] = round(entry["passed"] / entry["cases"], 4)
    return report


def _failure_line(failure: dict) -> str:
    scores = ", ".join(f"{label} {score:.2f}" for label, score in failure["scores"].items() if score >= 0.05)
    return (f"- expected `{failure['expect']}`, got {failure['decision']} "
            f"(flags: {', '.join(failure['flags']) or 'none'}; {scores or 'all scores < 0.05'}): {failure['text']}")


def markdown(report: dict, model: dict) -> str:
    """Pass rates per capability, then every failing case."""
    lines = [f"Model `{model['version']}` (trained on {model['trained_on']}).", "",
             "| capability | cases | passed | pass rate |", "|---|---:|---:|---:|"]
    for name, entry in report.items():
        lines.append(f"| {name} | {entry['cases']} | {entry['passed']} | {entry['pass_rate']:.0%} |")
    total = sum(e["cases"] for e in report.values())
    passed = sum(e["passed"] for e in report.values())
    lines += [f"| **all** | {total} | {passed} | {passed / total:.0%} |", "", "### Failing cases", ""]
    for name, entry in report.items():
        if entry["failures"]:
            lines += [f"**{name}**", "", *map(_failure_line, entry["failures"]), ""]
    return "\n".join(lines)


def _model_summary(artifact: Artifact) -> dict:
    sources = artifact.metadata.get("training", {}).get("sources", [])
    return {"version": artifact.version, "path": str(artifact.path), "thresholds": artifact.thresholds,
            "trained_on": ", ".join(s["path"] for s in sources if s.get("format") != "articles") or "unknown"}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.functional", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None,
                        help="Model version or registry directory (default: train the default model now).")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="functional-") as scratch:
        artifact = resolve_model(args.model) if args.model else train_default_model(Path(scratch))
        model = _model_summary(artifact)
        report = run_cases(Scorer(artifact))
    table = markdown(report, model)
    write_results("functional", {"model": model, "capabilities": report}, table)
    print(table.split("### Failing cases")[0])
    print(f"written to {RESULTS_DIR}")
    return report


if __name__ == "__main__":
    main()

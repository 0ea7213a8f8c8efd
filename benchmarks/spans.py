"""Explanations against human span annotations: character F1 of each explanation method on held-out posts.

The Civil Comments toxic spans corpus is split by post (posts with the same text on one side): a test part
that only the final measurement sees, and a training side. The model is trained by the project's own
:func:`training.train.train` on part of the training side (with C3 as everyday news comments); the span
thresholds of each method are chosen on the rest of the training side (the validation posts). Gold spans
are as in SemEval-2021 Task 5: a character is toxic when a strict majority of the post's raters highlighted
it. A post's F1 compares its predicted and gold character sets (1 when both are empty, 0 when only one is);
the score is the mean over posts, with a 95% bootstrap interval over posts. Run from the repository root::

    python -m benchmarks.spans

Writes ``benchmarks/results/spans.json`` and ``spans.md`` and prints the table.
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import re
import time
import warnings
import functools
from functools import partial

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit

from moderation.model.classifier import LabelSkippedWarning
from moderation.runtime.explain import MIN_SHARE_OF_TOP, MIN_WORD_SCORE, score_words
from moderation.runtime.policy import Policy
from training.train import TrainingData, train

from .corpora import RESULTS_DIR, SEED, load_shared, write_results

TEST_SIZE = 0.2
VALIDATION_SIZE = 0.15  # of the training side: the posts the span thresholds are chosen on
BOOTSTRAP = 2000
TOXIC_SHARE = 0.5  # a post is judged toxic when more than half of its raters did not tick "not toxic"
# The other corpora the model is trained on beside the toxic spans training posts, chosen on the validation
# posts (F1 of the contribution spans of the flagged labels at 0.6 / 0.5, lexical model, 2026-12-06): none 0.460,
# C3 0.507, C3 + davidson 0.490.
OTHER_CORPORA = ("c3",)
# Weights of the rationale contrasts tried (training.train.RATIONALE_WEIGHT); the one with the best validation F1
# of the shipped method is reported, next to the model without contrasts. Weights 3 and 10 reached 0.589 and
# 0.592 on validation, but cost toxic ROC-AUC 0.013 and 0.036 on C3's training side
# (benchmarks/rationale_toxicity.py), more than the 0.01 a weight may cost.
RATIONALE_GRID = (0.0, 1.0)
# train() is given the whole training part (no test part of its own) and picks its flag thresholds on its
# article folds.
# The grids the thresholds are chosen from.
SCORE_GRID = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0, 1.25, 1.5, 2.0)
SHARE_GRID = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
# Shares of a label's flag threshold from which its words are explained (1: flagged labels only).
OF_FLAG_GRID = (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0)
DROP_GRID = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3)
# The occlusion explanation the service shipped before contributions: each word (at most 60 runs of
# neighbouring words) removed in turn, its score the drop of the label's probability, kept from 0.02.
OCCLUSION_WORD_RE = re.compile(r"\w[\w'’*#@$!|+.\-]*\w|\w")
OCCLUSION_MAX_SEGMENTS = 60
OCCLUSION_MIN_DROP = 0.02


def _quiet(message: str) -> None:
    """Swallow train()'s progress lines."""


def gold_characters(corpus: pd.DataFrame) -> list[set[int]]:
    """Each post's gold characters: the toxic-spans importer's ``spans``, the characters a strict majority of
    the post's raters highlighted (annotations.csv rows), as SemEval-2021 Task 5 defines them."""
    return [{c for begin, end in marked or () for c in range(begin, end)} for marked in corpus["spans"]]


def split_posts(posts: pd.DataFrame, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training, validation and test positions; posts with the same text fall on one side."""
    groups = posts["text"].to_numpy()
    rest, test = next(GroupShuffleSplit(1, test_size=TEST_SIZE, random_state=seed).split(posts, groups=groups))
    fit, validation = next(GroupShuffleSplit(1, test_size=VALIDATION_SIZE, random_state=seed + 1)
                           .split(rest, groups=groups[rest]))
    return rest[fit], rest[validation], test


def char_f1(predicted: set[int], gold: set[int]) -> float:
    """SemEval-2021 Task 5's per-post F1 of character offsets."""
    if not gold or not predicted:
        return float(not gold and not predicted)
    overlap = len(predicted & gold)
    return 2 * overlap / (len(predicted) + len(gold))


def mean_f1(predictions: list[set[int]], gold: list[set[int]]) -> float:
    return float(np.mean([char_f1(p, g) for p, g in zip(predictions, gold)]))


def bootstrap(values: np.ndarray, seed: int = SEED) -> tuple[float, float]:
    """95% percentile interval of the mean of ``values`` over posts resampled with replacement."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(BOOTSTRAP, len(values)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def characters(spans: list[dict] | list[tuple[int, int]]) -> set[int]:
    result = set()
    for span in spans:
        begin, end = (span["begin"], span["end"]) if isinstance(span, dict) else span
        result.update(range(begin, end))
    return result


def occlusion_words(text: str) -> list[tuple[int, int]]:
    """The words occlusion removes: at most OCCLUSION_MAX_SEGMENTS runs of neighbouring words."""
    words = [m.span() for m in OCCLUSION_WORD_RE.finditer(text)]
    if len(words) <= OCCLUSION_MAX_SEGMENTS:
        return words
    size = -(-len(words) // OCCLUSION_MAX_SEGMENTS)
    return [(words[i][0], words[min(i + size, len(words)) - 1][1]) for i in range(0, len(words), size)]


class Explained:
    """A model's flags on some posts, and what each method needs to give their spans at any threshold."""

    def __init__(self, pipeline, metadata: dict, texts: list[str]):
        self.features, self.classifier = pipeline[0], pipeline[-1]
        self.texts = texts
        self.labels = list(self.classifier.labels_)
        text_only = set(self.classifier.text_only)
        policy = Policy.from_model(metadata["thresholds"])
        self.scores = self.classifier.predict_proba_text(self.features.text_features(texts))
        self.flags = [policy.decide({label: round(float(p), 4) for label, p in zip(self.labels, row)
                                     if label in text_only}).flags for row in self.scores]
        # Every toxicity label's word scores, and each post's probabilities as shares of the labels' flag thresholds.
        self.text_labels = [label for label in self.labels if label in text_only]
        self.all_words = [score_words(self.features, self.classifier, text, self.text_labels) for text in texts]
        flag = np.array([metadata["thresholds"][label]["flag"] for label in self.text_labels])
        self.of_flag = self.scores[:, [self.labels.index(label) for label in self.text_labels]] / flag

    def contributions(self, min_score: float, min_share: float, every_post: bool = False) -> list[set[int]]:
        """Characters of the contribution spans: the flagged toxicity labels' (union), or the toxic label's."""
        return [self._characters(words, ["toxic"] if every_post else flags, min_score, min_share)
                for words, flags in zip(self.all_words, self.flags)]

    def contributions_from(self, share_of_flag: float, min_score: float, min_share: float) -> list[set[int]]:
        """Characters of the contribution spans of every toxicity label whose probability reaches ``share_of_flag``
        of its flag threshold (1: the flagged labels), flagged or not."""
        return [self._characters(words, [self.text_labels[k] for k in np.flatnonzero(shares >= share_of_flag)],
                                 min_score, min_share)
                for words, shares in zip(self.all_words, self.of_flag)]

    def _characters(self, words, labels: list[str], min_score: float, min_share: float) -> set[int]:
        """Characters of the spans of ``labels`` in one post's word scores (each label's column on its own)."""
        spans = []
        for label in labels:
            k = self.text_labels.index(label)
            spans += words._label_spans(label, words.scores[:, k], min_score, min_share)
        return characters(spans)

    def occlusion(self, min_drop: float) -> list[set[int]]:
        """Characters of the words whose removal drops a flagged toxicity label's probability by ``min_drop``."""
        return [characters([word for word, drop in zip(occlusion_words(text), drops) if drop >= min_drop])
                for text, drops in zip(self.texts, self.drops)]

    @functools.cached_property
    def drops(self) -> list[np.ndarray]:
        """For each post, each word's largest drop over the post's flagged labels (none flagged: no words); computed
        when occlusion is first asked for."""
        variants, owners, drops = [], [], []
        for i, (text, flags) in enumerate(zip(self.texts, self.flags)):
            words = occlusion_words(text) if flags else []
            drops.append(np.zeros(len(words)))
            variants += [text[:begin] + " " + text[end:] for begin, end in words]
            owners += [(i, k) for k in range(len(words))]
        for start in range(0, len(variants), 2000):
            occluded = self.classifier.predict_proba_text(self.features.text_features(variants[start:start + 2000]))
            for row, (i, k) in zip(occluded, owners[start:start + 2000]):
                columns = [self.labels.index(label) for label in self.flags[i]]
                drops[i][k] = float(np.max(self.scores[i, columns] - row[columns]))
        return drops

    def subset(self, keep: np.ndarray) -> "Explained":
        """The same, for the posts where ``keep`` is true."""
        part = copy.copy(self)
        for name in ("texts", "flags", "all_words", "drops"):
            setattr(part, name, [x for x, k in zip(getattr(self, name), keep) if k])
        part.scores, part.of_flag = self.scores[keep], self.of_flag[keep]
        return part


def every_word(texts: list[str]) -> list[set[int]]:
    return [characters(occlusion_words(text)) for text in texts]


def _best(grid: list[tuple], predict, gold: list[set[int]]) -> tuple[tuple, float, list[dict]]:
    """The grid point with the highest validation F1 (the first of equals), its F1 and every point's F1."""
    tried = [(point, mean_f1(predict(*point), gold)) for point in grid]
    best = max(tried, key=lambda item: item[1])
    return best[0], best[1], [{"point": list(point), "f1": round(f1, 4)} for point, f1 in tried]


def _result(predictions: list[set[int]], gold: list[set[int]], **extra) -> dict:
    values = np.array([char_f1(p, g) for p, g in zip(predictions, gold)])
    low, high = bootstrap(values)
    return {"f1": round(float(values.mean()), 4), "ci95": [round(low, 4), round(high, 4)],
            "posts_with_spans": int(sum(bool(p) for p in predictions)), **extra, "_values": values}


def _from_grid() -> list[tuple[float, float, float]]:
    """The thresholds of the shipped method tried: share of the flag threshold, word score, share of the best word."""
    return [(of_flag, score, share) for of_flag in OF_FLAG_GRID for score in SCORE_GRID for share in SHARE_GRID]


def evaluate(validation: Explained, val_gold: list[set[int]], test: Explained, test_gold: list[set[int]]) -> dict:
    """Every method on the test posts, thresholds chosen on the validation posts."""
    contribution_grid = [(score, share) for score in SCORE_GRID for share in SHARE_GRID]
    grids = {"contributions": contribution_grid, "contributions_every_post": contribution_grid,
             "contributions_from": _from_grid(),
             "occlusion": [(drop,) for drop in DROP_GRID]}
    chosen, choices = {}, {}
    for key, predict in (("contributions", validation.contributions),
                         ("contributions_every_post", partial(validation.contributions, every_post=True)),
                         ("contributions_from", validation.contributions_from),
                         ("occlusion", validation.occlusion)):
        grid = grids[key]
        point, f1, tried = _best(grid, predict, val_gold)
        chosen[key] = point
        if key == "contributions_from":  # 441 points: the best of each share of the flag threshold
            tried = [max((t for t in tried if t["point"][0] == share), key=lambda t: t["f1"]) for share in OF_FLAG_GRID]
        choices[key] = {"thresholds": list(point), "validation_f1": round(f1, 4), "grid": tried}
    results = {
        "nothing": _result([set() for _ in test.texts], test_gold),
        "every_word": _result(every_word(test.texts), test_gold),
        "occlusion_shipped": _result(test.occlusion(OCCLUSION_MIN_DROP), test_gold, thresholds=[OCCLUSION_MIN_DROP]),
        "occlusion": _result(test.occlusion(*chosen["occlusion"]), test_gold, thresholds=list(chosen["occlusion"])),
        "contributions": _result(test.contributions(*chosen["contributions"]), test_gold,
                                 thresholds=list(chosen["contributions"])),
        "contributions_every_post": _result(test.contributions(*chosen["contributions_every_post"], every_post=True),
                                            test_gold, thresholds=list(chosen["contributions_every_post"])),
        "contributions_from": _result(test.contributions_from(*chosen["contributions_from"]), test_gold,
                                      thresholds=list(chosen["contributions_from"])),
    }
    difference = results["contributions"]["_values"] - results["occlusion_shipped"]["_values"]
    low, high = bootstrap(difference)
    return {"posts": len(test.texts), "posts_with_gold_spans": int(sum(bool(g) for g in test_gold)),
            "posts_flagged": int(sum(bool(f) for f in test.flags)), "validation_posts": len(validation.texts),
            "test": {key: {k: v for k, v in row.items() if k != "_values"} for key, row in results.items()},
            "contributions_minus_occlusion_shipped": {"mean": round(float(difference.mean()), 4),
                                                      "ci95": [round(low, 4), round(high, 4)]},
            "chosen_on_validation": choices}


def measure() -> dict:
    corpus = load_shared("toxic-spans")
    posts, gold = corpus[["id", "text"]], gold_characters(corpus)
    fit, validation, test = split_posts(posts)
    training = pd.concat([corpus.iloc[fit]] + [load_shared(name) for name in OTHER_CORPORA], ignore_index=True)
    texts = posts["text"].tolist()
    val_texts, val_gold = [texts[i] for i in validation], [gold[i] for i in validation]
    test_texts, test_gold = [texts[i] for i in test], [gold[i] for i in test]
    grid, models = [], {}
    for weight in RATIONALE_GRID:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LabelSkippedWarning)
            pipeline, metadata = train(TrainingData(training), seed=SEED, test_size=0.0, rationale_weight=weight,
                                       log=_quiet)
        seconds = time.perf_counter() - started
        explained = Explained(pipeline, metadata, val_texts)
        _, f1, _ = _best(_from_grid(), explained.contributions_from, val_gold)
        grid.append({"rationale_weight": weight, "validation_f1": round(f1, 4), "fit_seconds": round(seconds, 1),
                     "contrasts": metadata["training"]["rationale_contrasts"]})
        models[weight] = (pipeline, metadata, explained)
    chosen = max(grid, key=lambda row: row["validation_f1"])["rationale_weight"]
    pipeline, metadata, val = models[chosen]
    fit_seconds = next(row["fit_seconds"] for row in grid if row["rationale_weight"] == chosen)
    if chosen:  # the same method without contrasts, on the same test posts (thresholds chosen on its validation)
        plain_pipeline, plain_metadata, plain_val = models[0.0]
        point, _, _ = _best(_from_grid(), plain_val.contributions_from, val_gold)
        without = _result(Explained(plain_pipeline, plain_metadata, test_texts).contributions_from(*point), test_gold,
                          thresholds=list(point))
        grid[0]["test"] = {k: v for k, v in without.items() if k != "_values"}
    del models
    judged_toxic = (corpus["toxic"] > TOXIC_SHARE).to_numpy()
    held_out = Explained(pipeline, metadata, test_texts)
    val_toxic, test_toxic = judged_toxic[validation], judged_toxic[test]
    everything = evaluate(val, val_gold, held_out, test_gold)
    if chosen:  # per post, the chosen model's F1 minus the model's without contrasts
        shipped = everything["test"]["contributions_from"]["thresholds"]
        difference = (np.array([char_f1(p, g) for p, g in zip(held_out.contributions_from(*shipped), test_gold)])
                      - without["_values"])
        low, high = bootstrap(difference)
        grid[0]["chosen_minus_this"] = {"mean": round(float(difference.mean()), 4), "ci95": [round(low, 4), round(high, 4)]}
    return {
        "settings": {
            "seed": SEED, "split": f"GroupShuffleSplit on the post's text: test {TEST_SIZE}, validation "
                                   f"{VALIDATION_SIZE} of the rest", "bootstrap": BOOTSTRAP,
            "gold": "characters highlighted by a strict majority of the post's raters (annotations.csv rows)",
            "judged_toxic": f"share of the post's raters not ticking 'not toxic' > {TOXIC_SHARE}",
            "training": ["toxic-spans training posts", *OTHER_CORPORA], "test_size": 0.0,
            "spans": "union over the post's flagged toxicity labels (the labels that read the text alone)",
            "service_defaults": {"min_word_score": MIN_WORD_SCORE, "min_share_of_top": MIN_SHARE_OF_TOP},
            "python": platform.python_version(),
        },
        "posts": {"training": int(len(fit)), "validation": int(len(validation)), "test": int(len(test))},
        "rationale": {"grid": grid, "chosen_weight": chosen},
        "fit": {"rows": int(len(training)), "seconds": round(fit_seconds, 1), "labels": metadata["labels"],
                "flag_thresholds": {label: t["flag"] for label, t in metadata["thresholds"].items()}},
        "all_posts": everything,
        "judged_toxic": evaluate(val.subset(val_toxic), [g for g, k in zip(val_gold, val_toxic) if k],
                                 held_out.subset(test_toxic), [g for g, k in zip(test_gold, test_toxic) if k]),
    }


METHODS = {
    "nothing": "highlight nothing",
    "every_word": "highlight every word",
    "occlusion_shipped": "occlusion (before): drop >= 0.02, flagged labels",
    "occlusion": "occlusion, drop threshold chosen on validation, flagged labels",
    "contributions": "contributions (the release before): flagged toxicity labels, thresholds chosen on validation",
    "contributions_every_post": "contributions, toxic label explained on every post (flagged or not)",
    "contributions_from": "**contributions (now)**: every toxicity label from a share of its flag threshold, all three "
                          "thresholds chosen on validation",
}


def _thresholds(row: dict) -> str:
    return " / ".join(f"{t:g}" for t in row.get("thresholds", [])) or "–"


def markdown(report: dict) -> str:
    """The report's table as Markdown."""
    everything, toxic = report["all_posts"], report["judged_toxic"]
    lines = ["### Character F1 of explanations on held-out toxic spans posts (SemEval-2021 Task 5 F1, mean over "
             "posts, 95% bootstrap interval)", "",
             f"| method | all {everything['posts']} posts: F1 | interval | thresholds | the {toxic['posts']} posts a "
             "majority judged toxic: F1 | interval | thresholds |", "|---|---:|---|---|---:|---|---|"]
    for key, name in METHODS.items():
        a, b = everything["test"][key], toxic["test"][key]
        lines.append(f"| {name} | {a['f1']:.3f} | {a['ci95'][0]:.3f}–{a['ci95'][1]:.3f} | {_thresholds(a)} | "
                     f"{b['f1']:.3f} | {b['ci95'][0]:.3f}–{b['ci95'][1]:.3f} | {_thresholds(b)} |")
    settings, fit = report["settings"], report["fit"]
    rationale = report["rationale"]
    lines += ["", "Rationale contrasts (each training post with marked spans learnt again without them, as non-toxic, at "
              "this weight; `training.train.RATIONALE_WEIGHT`): the shipped method's F1, thresholds chosen on "
              "validation; the weight with the best validation F1 is the model above.", "",
              "| contrast weight | contrasts | validation F1 | test F1 (all posts) | interval |", "|---:|---:|---:|---:|---|"]
    for row in rationale["grid"]:
        test_row = (everything["test"]["contributions_from"] if row["rationale_weight"] == rationale["chosen_weight"]
                    else row.get("test"))
        shown = (f"{test_row['f1']:.3f} | {test_row['ci95'][0]:.3f}–{test_row['ci95'][1]:.3f}" if test_row
                 else "not measured | –")
        lines.append(f"| {row['rationale_weight']:g} | {row['contrasts']} | {row['validation_f1']:.3f} | {shown} |")
    if "chosen_minus_this" in rationale["grid"][0]:
        gain = rationale["grid"][0]["chosen_minus_this"]
        lines += ["", f"Weight {rationale['chosen_weight']:g} minus no contrasts, per test post: {gain['mean']:+.3f} "
                  f"({gain['ci95'][0]:+.3f} to {gain['ci95'][1]:+.3f})."]
    lines += [""]
    for name, part in (("all posts", everything), ("posts judged toxic", toxic)):
        difference = part["contributions_minus_occlusion_shipped"]
        lines.append(f"- {name}: {part['posts_with_gold_spans']} of {part['posts']} have gold spans, the model flags "
                     f"{part['posts_flagged']}; contributions minus occlusion as shipped, per post: "
                     f"{difference['mean']:+.3f} ({difference['ci95'][0]:+.3f} to {difference['ci95'][1]:+.3f}).")
    lines += ["", "Thresholds: contributions = minimum log-odds a word adds / minimum share of the comment's best word; "
              "occlusion = minimum drop of the probability. Each is chosen on the validation posts of the same column "
              f"({everything['validation_posts']} and {toxic['validation_posts']} posts), never on test posts. "
              f"The service's defaults: {settings['service_defaults']['min_word_score']:g} / "
              f"{settings['service_defaults']['min_share_of_top']:g}.", "",
              f"Posts: {report['posts']['training']} training, {report['posts']['validation']} validation, "
              f"{report['posts']['test']} test; split: {settings['split']}. Gold: {settings['gold']}. Judged toxic: "
              f"{settings['judged_toxic']}. Spans: "
              f"{settings['spans']}; a post the model does not flag has none. Model: `train()` on the training posts "
              f"plus {', '.join(settings['training'][1:])} ({fit['rows']} rows, {fit['seconds']:.0f} s); its flag "
              "thresholds: " + ", ".join(f"{label} {t:g}" for label, t in fit["flag_thresholds"].items()) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.spans", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    started, load_before = time.perf_counter(), os.getloadavg()
    report = measure()
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["load_average"] = {"before": [round(x, 2) for x in load_before],
                              "after": [round(x, 2) for x in os.getloadavg()]}
    table = markdown(report)
    write_results("spans", report, table)
    print(table)
    print(f"total {report['seconds']:.0f} s; written to {RESULTS_DIR}")
    return report


if __name__ == "__main__":
    main()

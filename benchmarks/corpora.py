"""Where the benchmarks find their data: the shared public corpora and the bundled corpus with articles."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
from sklearn.model_selection import GroupShuffleSplit

from training.importers import import_corpus
from training.train import default_articles, default_data

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
# The shared public corpora (see each folder's PROVENANCE.md); $BENCHMARK_DATASETS points elsewhere.
SHARED_DIR = Path(os.environ.get("BENCHMARK_DATASETS") or ROOT.parent / "shared" / "datasets")
SHARED = {
    "c3": ("c3", SHARED_DIR / "c3-constructive-comments" / "C3_anonymized.csv"),
    "toxic-spans": ("toxic-spans", SHARED_DIR / "civil-comments-toxic-spans"),
    "davidson": ("davidson", SHARED_DIR / "davidson-hate-offensive" / "labeled_data.csv"),
}
SEED = 0
TEST_SIZE = 0.2


def load_shared(name: str) -> pd.DataFrame:
    """One shared corpus in the training schema."""
    fmt, path = SHARED[name]
    return import_corpus(fmt, path)


def c3_reference_labels(ids: pd.Series) -> pd.DataFrame:
    """The benchmark's own C3 labels for comment ids, read from the raw file so importer changes do not move them.

    ``toxic_raters``: share of toxicity judgements that did not tick ``no_toxic`` (raters naming something
    toxic); ``toxic_level``: mean crowd toxicity level, 1 (not toxic) to 4 (very toxic); ``insult``: share
    ticking ``personal_attack``; ``off_topic``: share of constructiveness judgements ticking ``non_relevant``.
    """
    raw = pd.read_csv(SHARED["c3"][1], dtype={"comment_counter": str}, usecols=[
        "comment_counter", "crowd_toxicity_level", "toxicity_characteristics", "non_constructive_characteristics",
        "njudgements_toxicity_expt", "njudgements_constructiveness_expt"])
    raw.index = raw["comment_counter"].str.strip()
    toxicity_judgements = raw["njudgements_toxicity_expt"].where(raw["njudgements_toxicity_expt"] > 0)
    labels = pd.DataFrame({
        "toxic_raters": 1 - _votes(raw["toxicity_characteristics"], "no_toxic") / toxicity_judgements,
        "toxic_level": raw["crowd_toxicity_level"].astype(float),
        "insult": _votes(raw["toxicity_characteristics"], "personal_attack") / toxicity_judgements,
        "off_topic": _votes(raw["non_constructive_characteristics"], "non_relevant")
        / raw["njudgements_constructiveness_expt"].where(raw["njudgements_constructiveness_expt"] > 0),
    })
    return labels.reindex(ids.to_numpy()).reset_index(drop=True)


def _votes(cells: pd.Series, name: str) -> pd.Series:
    """Votes for ``name`` in C3's newline-separated ``name:count`` cells (0 if absent, NaN for an empty cell)."""
    counts = cells.str.extract(rf"(?m)^\s*{name}\s*:\s*(\d+)\s*$", expand=False)
    return pd.to_numeric(counts, errors="coerce").fillna(0).where(cells.notna())


def bundled_paths() -> tuple[list[tuple[str, str]], list[str]]:
    """``(data, articles)`` arguments of :func:`training.train.load_data` for the bundled corpus in data/."""
    return default_data(), default_articles()


def split_by_article(frame: pd.DataFrame, seed: int = SEED, test_size: float = TEST_SIZE):
    """Train and test row positions with no article on both sides (rows without an article are their own group)."""
    groups = [a if a is not None else f"row:{i}" for i, a in enumerate(frame["article_id"])]
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    return next(splitter.split(frame, groups=groups))


def write_results(name: str, report: dict, table: str) -> None:
    """``results/<name>.json`` and ``results/<name>.md``: what every benchmark leaves behind."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (RESULTS_DIR / f"{name}.md").write_text(table, encoding="utf-8")


def news_comments(count: int) -> list[dict]:
    """``count`` news comments as ``moderation score`` reads them: C3's (with their article ids: threads), then
    Civil Comments' toxic-spans posts, then again from the start (the two hold some 28,000 comments)."""
    rows = []
    for name in ("c3", "toxic-spans"):
        frame = load_shared(name)
        articles = frame["article_id"] if "article_id" in frame else [None] * len(frame)
        rows += [{"text": text, "article_id": article if isinstance(article, str) else None}
                 for text, article in zip(frame["text"], articles)]
    return [{"id": str(i), **rows[i % len(rows)]} for i in range(count)]

"""Fit the toxicity and off-topic model on labelled comments, choose thresholds by article folds, evaluate, save."""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from sklearn.pipeline import Pipeline

from moderation.files import sha256_file
from moderation.model.classifier import LabelSkippedWarning, MultiLabelLogistic, NoLabelLearnt
from moderation.model.comment import MAX_THREAD, Comment, article_text
from moderation.model.features import CommentFeaturizer
from moderation.model.labels import REJECT_LABELS
from moderation.model.encoder import SentenceEncoder, encoder_enabled
from moderation.model.semantic import SemanticContext, context_similarity
from moderation.runtime.artifact import Registry, read_metadata

from . import thresholds
from .evaluate import evaluate_predictions
from .importers import import_corpus
from .schema import LABELS, SPANS, DataError, conform, read_articles

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
TOXICITY_LABELS = tuple(label for label in LABELS if label != "off_topic")
# Labels learnt from the majority of a comment's raters rather than from their share. A minority of raters
# calling a comment irrelevant (C3's "non_relevant", ticked by at least one rater on a third of its comments)
# marks a weak comment more than one about another story; learnt as a share, it taught the model to doubt
# comments under their own thread. On held-out articles of C3's training side (benchmarks/offtopic_labels.py),
# the swap-test ROC-AUC was 0.890 with shares and 0.916 with the majority (and on the 20 comments most raters
# called irrelevant, 0.682 and 0.641: too few to steer by).
MAJORITY_LABELS = ("off_topic",)


@dataclass
class TrainingData:
    """Comments in the schema, the articles they refer to, and where they came from."""

    frame: pd.DataFrame
    articles: dict[str, dict] = field(default_factory=dict)
    sources: list[dict] = field(default_factory=list)


def load_data(data: list[tuple[str, str]], article_paths: list[str | Path] = ()) -> TrainingData:
    """Read every (format, path) corpus and every articles file into one :class:`TrainingData`."""
    frames, sources, articles = [], [], {}
    for fmt, path in data:
        frame = import_corpus(fmt, path)
        frames.append(frame)
        path = Path(path)
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        sources.append({"format": fmt, "path": str(path), "rows": len(frame),
                        "sha256": {f.name: sha256_file(f) for f in files}})
    for path in article_paths:
        articles.update(read_articles(path))
        sources.append({"format": "articles", "path": str(path), "sha256": {Path(path).name: sha256_file(path)}})
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if frame.empty:
        raise DataError("no training rows: every input was empty")
    return TrainingData(frame, articles, sources)


def merge_reviews(data: TrainingData, rows: list[dict], articles: list[dict]) -> TrainingData:
    """Add reviewed comments; a review replaces any older row for the same comment id (labels it corrects)."""
    if not rows:
        return data
    reviews = conform(pd.DataFrame(rows), source="reviews")
    reviewed_ids = set(reviews["id"].dropna())
    base = data.frame[~data.frame["id"].isin(reviewed_ids)]
    frame = pd.concat([base, reviews], ignore_index=True)
    merged_articles = {**{a["id"]: a for a in articles}, **data.articles}
    sources = data.sources + [{"format": "reviews", "rows": len(reviews), "replaced": int(len(data.frame) - len(base))}]
    return TrainingData(frame, merged_articles, sources)


def default_data(data_dir: Path = DEFAULT_DATA_DIR) -> list[tuple[str, str]]:
    return [("native", str(data_dir / "comments.jsonl"))]


def default_articles(data_dir: Path = DEFAULT_DATA_DIR) -> list[str]:
    return [str(data_dir / "articles.jsonl")]


def build_comments(frame: pd.DataFrame, articles: dict[str, dict]) -> list[Comment]:
    """Attach to each comment its article's text, its parent's text, and the comments posted before it on its article.

    Rows are taken to be in posting order: a comment's thread is the last MAX_THREAD comments before it, as the
    service sees it when the comment arrives, so the first comment under an article has its article alone.
    """
    texts = frame["text"].tolist()
    ids = frame["id"].tolist()
    article_ids = frame["article_id"].tolist()
    by_id = {comment_id: text for comment_id, text in zip(ids, texts) if comment_id is not None}
    by_article: dict[str, list[int]] = {}  # each article's comments in posting order
    position = [0] * len(texts)  # where each comment comes in its article's list
    for i, article_id in enumerate(article_ids):
        if article_id is not None:
            siblings = by_article.setdefault(article_id, [])
            position[i] = len(siblings)
            siblings.append(i)
    comments = []
    for i, (text, article_id, parent_id) in enumerate(zip(texts, article_ids, frame["parent_id"].tolist())):
        earlier = by_article[article_id][max(0, position[i] - MAX_THREAD):position[i]] if article_id is not None else []
        thread = tuple(texts[j] for j in earlier)
        article = articles.get(article_id) or {}
        comments.append(Comment(text=text, article=article_text(article.get("title"), article.get("body")), thread=thread,
                                parent=by_id.get(parent_id) if parent_id is not None else None))
    return comments


# A swapped comment is an off-topic example only when it is about its own story: closer to its own context than
# to the other story's by SPECIFIC_MARGIN and at least SPECIFIC_SIMILARITY to it (cosine in the encoder's space).
# One no closer to its own context than to the other's, within GENERIC_MARGIN ("Agreed.", "Thanks for the
# update."), carries no topic of its own and is an on-topic example under the other story too; the ones in
# between teach nothing sure and are left out.
SPECIFIC_MARGIN = 0.10
SPECIFIC_SIMILARITY = 0.25
GENERIC_MARGIN = 0.03


def swap_contexts(comments: list[Comment], labels: np.ndarray, article_ids: list, rng: np.random.Generator,
                  fraction: float, semantic: SemanticContext | None = None) -> tuple[list[Comment], np.ndarray]:
    """Post on-topic comments under another story: off-topic examples made from real comments.

    A swapped comment takes the place of a random comment of the other story: that comment's article and the
    thread before it, so swapped comments meet threads of every length, as real ones do (the first comment
    under a story has none). With a semantic tier, only comments specific to their own story become off-topic
    examples, and generic ones become on-topic examples under the other story (see SPECIFIC_MARGIN); without
    one, every swapped comment is an off-topic example.
    """
    off_topic = LABELS.index("off_topic")
    places: dict[str, list[Comment]] = {}  # each story's comments that have a context: where a swap can go
    for comment, article_id in zip(comments, article_ids):
        if article_id is not None and (comment.article or comment.thread):
            places.setdefault(article_id, []).append(comment)
    keys = sorted(places)
    if len(keys) < 2:
        return [], np.zeros((0, len(LABELS)))
    candidates = [i for i, (c, a) in enumerate(zip(comments, article_ids))
                  if a in places and not labels[i, off_topic] >= 0.5]
    chosen = rng.choice(candidates, size=int(len(candidates) * fraction), replace=False) if candidates else []
    swapped = []
    for i in chosen:
        other = keys[rng.integers(len(keys) - 1)]
        if other == article_ids[i]:
            other = keys[-1]
        place = places[other][rng.integers(len(places[other]))]
        swapped.append(Comment(comments[i].text, place.article, place.thread, None))
    target = np.ones(len(swapped))
    if semantic is not None and swapped:
        own = context_similarity(semantic, [comments[i] for i in chosen])
        other = context_similarity(semantic, swapped)
        specific = (own - other >= SPECIFIC_MARGIN) & (own >= SPECIFIC_SIMILARITY)
        generic = own - other < GENERIC_MARGIN
        target = np.where(specific, 1.0, np.where(generic, 0.0, np.nan))
        keep = ~np.isnan(target)
        swapped, target = [c for c, k in zip(swapped, keep) if k], target[keep]
    rows = np.full((len(swapped), len(LABELS)), np.nan)
    rows[:, off_topic] = target
    return swapped, rows


# A comment whose toxic words people marked (the training data's ``spans``) is learnt a second time without
# them, as an example of every toxicity label known on it being absent, at RATIONALE_WEIGHT of its weight:
# annotators' rationales as contrast examples (Zaidan, Eisner and Piatko, NAACL 2007). The model learns that the
# marked words, not the rest of the comment, carry the label, and its explanations point at them. Chosen on
# training-side data only: the weight with the best F1 of the explanations on the validation posts of toxic
# spans (benchmarks/spans.py: 0.566 without contrasts, 0.582 at weight 1, 0.589 at 3, 0.592 at 10) among those
# that cost toxic ROC-AUC at most 0.01 on held-out articles of C3's training side
# (benchmarks/rationale_toxicity.py: 0.752 without, 0.748 at 1, 0.739 at 3, 0.716 at 10).
RATIONALE_WEIGHT = 1.0


def rationale_contrasts(comments: list[Comment], labels: np.ndarray, spans: list) -> tuple[list[Comment], np.ndarray,
                                                                                             np.ndarray]:
    """The comments with marked spans, without the marked characters (context kept); their labels (every toxicity
    label known on the original is 0, the rest unknown); and the positions of their originals."""
    contrasts, rows = [], []
    for i, (comment, marked) in enumerate(zip(comments, spans)):
        if not marked:
            continue
        kept = comment.text
        for begin, end in sorted(marked, reverse=True):
            kept = kept[:begin] + " " + kept[end:]
        kept = " ".join(kept.split())
        if kept:
            contrasts.append(Comment(kept, comment.article, comment.thread, comment.parent))
            rows.append(i)
    rows = np.array(rows, dtype=np.int64)
    y = np.full((len(rows), len(LABELS)), np.nan)
    toxicity = [LABELS.index(label) for label in TOXICITY_LABELS]
    y[:, toxicity] = np.where(np.isnan(labels[rows][:, toxicity]), np.nan, 0.0)
    return contrasts, y, rows


SHORT_THREAD = 3  # a context-free copy keeps at most this many of its thread's last comments


def drop_contexts(comments: list[Comment], labels: np.ndarray, rng: np.random.Generator,
                  fraction: float) -> tuple[list[Comment], np.ndarray]:
    """Copies of comments with part of their context removed, keeping only the off-topic label.

    Comments often arrive without an article or thread, or as the first under their article; without these
    copies the model would rarely have seen those cases and would read "no context" or "no thread yet" as
    "unrelated to its context". A third of the copies keep nothing, a third their article alone, and a third
    their article and the last one to SHORT_THREAD comments of their thread (a short thread is the common case
    early in a discussion, and rare in a corpus where most comments come late).
    """
    off_topic = LABELS.index("off_topic")
    candidates = [i for i, c in enumerate(comments) if (c.article or c.thread or c.parent)
                  and not np.isnan(labels[i, off_topic])]
    chosen = rng.choice(candidates, size=int(len(candidates) * fraction), replace=False) if candidates else []
    rows = np.full((len(chosen), len(LABELS)), np.nan)
    rows[:, off_topic] = labels[chosen, off_topic] if len(chosen) else []
    copies = []
    for k, i in enumerate(chosen):
        comment = comments[i]
        kept = comment.thread[-int(rng.integers(1, SHORT_THREAD + 1)):] if comment.thread else ()
        copies.append([Comment(comment.text), Comment(comment.text, comment.article),
                       Comment(comment.text, comment.article, kept)][k % 3])
    return copies, rows


def label_targets(frame: pd.DataFrame, majority_labels: tuple[str, ...] = MAJORITY_LABELS) -> np.ndarray:
    """The rows' labels as fitted (columns in LABELS order, NaN unknown): rater shares as they are, except for
    ``majority_labels``, which are 1 where at least half of the raters named them and 0 elsewhere."""
    y = frame[list(LABELS)].to_numpy(dtype=float, copy=True)
    for label in majority_labels:
        shares = y[:, LABELS.index(label)]
        y[:, LABELS.index(label)] = np.where(np.isnan(shares), np.nan, (shares >= 0.5).astype(float))
    return y


def _row_weights(sources: pd.Series, source_weights: dict[str, float | dict[str, float]]) -> np.ndarray:
    """Weight of every row for every label (columns in LABELS order) from per-source, optionally per-label weights."""
    weights = np.ones((len(sources), len(LABELS)))
    for source, weight in source_weights.items():
        rows = (sources == source).to_numpy()
        per_label = weight if isinstance(weight, dict) else dict.fromkeys(LABELS, weight)
        for label, value in per_label.items():
            if label not in LABELS:
                raise DataError(f"source weight for {source!r} names unknown label {label!r}")
            weights[rows, LABELS.index(label)] = float(value)
    return weights


def article_groups(frame: pd.DataFrame) -> np.ndarray:
    """Each row's article, or the row itself where it has none: the unit no split may cut through."""
    return np.array([a if a is not None else f"row:{i}" for i, a in enumerate(frame["article_id"])], dtype=object)


def split_by_article(frame: pd.DataFrame, seed: int = 0, test_size: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """Training and test row indices with no article (or, without one, no comment) on both sides.

    A size of 0 leaves the test part empty (for tiny corpora: nothing is reported as held-out).
    """
    rows = np.arange(len(frame))
    if test_size <= 0:
        return rows, rows[:0]
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    keep, held = next(splitter.split(rows, groups=article_groups(frame)))
    return rows[keep], rows[held]


def make_pipeline(n_topics: int = 100, C: float = 4.0, min_positives: float = 5.0,
                  semantic: SemanticContext | None = None) -> Pipeline:
    return Pipeline([
        ("features", CommentFeaturizer(n_topics=n_topics, semantic=None if semantic is None else clone(semantic))),
        ("labels", MultiLabelLogistic(labels=LABELS, C=C, text_only=TOXICITY_LABELS, min_positives=min_positives)),
    ])


def fit_pipeline(comments: list[Comment], y: np.ndarray, weights: np.ndarray, n_topics: int = 100,
                 C: float = 4.0, min_positives: float = 5.0, semantic: SemanticContext | None = None) -> Pipeline:
    """Fit the featuriser, then the per-label classifiers on its output (the classifier needs its width).

    The comments are featurised once: the featuriser's ``fit_transform`` hands back the matrix it built
    while choosing its vocabularies. ``weights`` has one weight per comment, or one per comment and label.
    """
    pipeline = make_pipeline(n_topics=n_topics, C=C, min_positives=min_positives, semantic=semantic)
    features = pipeline.named_steps["features"]
    X = features.fit_transform(comments)
    pipeline.named_steps["labels"].set_params(n_text_features=features.n_text_features_)
    pipeline.named_steps["labels"].fit(X, y, sample_weight=weights)
    return pipeline


@dataclass
class _FitSet:
    """Rows to fit on, with their context swaps and context-free copies (at half weight) and their rationale
    contrasts (at RATIONALE_WEIGHT of their originals' weight) appended."""

    comments: list[Comment]
    y: np.ndarray
    weights: np.ndarray
    swaps: int
    copies: int
    contrasts: int


@dataclass
class _Corpus:
    """Every row of the training data as the fits read it (``y`` and ``weights`` with a column per label of
    LABELS; ``spans`` the marked characters of each row, or None)."""

    comments: list[Comment]
    y: np.ndarray
    weights: np.ndarray
    article_ids: list
    spans: list


def _fit_set(corpus: _Corpus, rows: np.ndarray, rng: np.random.Generator, swap_fraction: float,
             semantic: SemanticContext | None, rationale_weight: float) -> _FitSet:
    own, y = [corpus.comments[i] for i in rows], corpus.y[rows]
    swapped, swapped_y = swap_contexts(own, y, [corpus.article_ids[i] for i in rows], rng, swap_fraction, semantic)
    bare, bare_y = drop_contexts(own, y, rng, swap_fraction)
    contrasts, contrast_y, originals = (rationale_contrasts(own, y, [corpus.spans[i] for i in rows])
                                        if rationale_weight > 0 else ([], np.zeros((0, len(LABELS))), []))
    return _FitSet(own + swapped + bare + contrasts, np.vstack([y, swapped_y, bare_y, contrast_y]),
                   np.vstack([corpus.weights[rows], np.full((len(swapped) + len(bare), len(LABELS)), 0.5),
                              corpus.weights[rows][originals] * rationale_weight]),
                   len(swapped), len(bare), len(contrasts))


def out_of_fold_scores(corpus: _Corpus, groups: np.ndarray, rows: np.ndarray, labels: list[str], folds: int,
                       seed: int, swap_fraction: float, rationale_weight: float, fit_params: dict,
                       log=print) -> tuple[np.ndarray, list[dict]]:
    """Every row's scores from a model fitted on the other folds' articles, never on its own.

    Parameters
    ----------
    corpus : _Corpus
        All rows of the training data.
    groups : ndarray
        Each row's article (:func:`article_groups`); no article is on both sides of a fold.
    rows : ndarray
        The rows to score (the training side; the test rows never take part).
    labels : list of str
        The final model's labels: the columns of the result.
    folds : int
        Number of article folds (fewer when there are fewer articles).
    seed : int
        Seed of each fold's context swaps.
    swap_fraction, rationale_weight : float
        As in :func:`train`.
    fit_params : dict
        ``n_topics``, ``C``, ``min_positives`` and ``semantic`` for :func:`fit_pipeline`.

    Returns
    -------
    (ndarray, list of dict)
        Scores of shape ``(len(rows), len(labels))``, NaN where a fold's model lacked the label, and each
        fold's held-out rows and articles.
    """
    scores = np.full((len(rows), len(labels)), np.nan)
    described = []
    splitter = GroupKFold(n_splits=min(folds, len(set(groups[rows]))))
    for fold, (fit_part, held_part) in enumerate(splitter.split(rows, groups=groups[rows])):
        fit_set = _fit_set(corpus, rows[fit_part], np.random.default_rng([seed, fold + 1]), swap_fraction,
                           fit_params.get("semantic"), rationale_weight)
        pipeline = _fit_fold(fit_set, fit_params)
        learnt = list(pipeline.named_steps["labels"].labels_) if pipeline is not None else []
        if learnt:
            predicted = pipeline.predict_proba([corpus.comments[i] for i in rows[held_part]])
            for k, label in enumerate(learnt):
                if label in labels:
                    scores[held_part, labels.index(label)] = predicted[:, k]
        described.append({"rows": int(len(held_part)), "articles": int(len(set(groups[rows[held_part]]))),
                          "labels": len(learnt)})
        log(f"threshold fold {fold + 1} of {splitter.n_splits}: fitted on {len(fit_part)} comments "
            f"({len(learnt)} labels learnt), scored {len(held_part)}")
    return scores, described


def _fit_fold(fit_set: _FitSet, fit_params: dict) -> Pipeline | None:
    """A fold's model, or None where it can learn no label (a tiny corpus). A label a fold cannot learn is left
    out without a warning: the rows it would score stay unscored (NaN), and the final fit warns for the model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LabelSkippedWarning)
        try:
            return fit_pipeline(fit_set.comments, fit_set.y, fit_set.weights, **fit_params)
        except NoLabelLearnt:
            return None


def train(data: TrainingData, registry: Registry | None = None, seed: int = 0, swap_fraction: float = 0.5,
          source_weights: dict[str, float | dict[str, float]] | None = None, n_topics: int = 100, C: float = 4.0,
          min_positives: float = 5.0, test_size: float = 0.15, folds: int = 5,
          min_deciding_positives: int = thresholds.MIN_DECIDING_POSITIVES, encoder: bool | None = None,
          majority_labels: tuple[str, ...] = MAJORITY_LABELS, rationale_weight: float = RATIONALE_WEIGHT,
          log=print) -> tuple[Pipeline, dict]:
    """Split off test articles, choose thresholds out of fold on the rest, fit on the rest, report on test, save.

    Parameters
    ----------
    data : TrainingData
        Labelled comments and articles.
    registry : Registry, optional
        Where to write the new version; nothing is written when omitted.
    seed : int
        Seed of the split and of the context swaps.
    swap_fraction : float
        Share of on-topic training comments also paired with another article as off-topic examples.
    source_weights : dict, optional
        Sample weight per corpus (``source`` column), either one number for every label or a dict of
        weights per label (``{"toxic-spans": {"toxic": 0.03}}``); 1 wherever not named.
    min_positives : float
        Labels with less positive weight than this are skipped (with a warning).
    test_size : float
        Share of articles held out for the reported metrics; 0 trains on everything and reports none.
    folds : int
        Article folds of the training rows whose out-of-fold scores the thresholds are chosen on: every
        training row is scored once by a model that never saw its article. At least 2.
    min_deciding_positives : int
        Labels with fewer positives among those scores do not decide on their own
        (:data:`training.thresholds.MIN_DECIDING_POSITIVES`; lower only for tests on toy corpora).
    encoder : bool, optional
        Whether the model has the semantic tier (a pretrained sentence encoder); by default unless
        ``$MODERATION_ENCODER`` is ``off``. Training embeddings are cached on disk (``$MODERATION_CACHE``).
    majority_labels : tuple of str
        Labels learnt from the majority of raters instead of their share (:data:`MAJORITY_LABELS`).
    rationale_weight : float
        Weight of the copies of comments with marked spans that leave those spans out, relative to their
        originals (:data:`RATIONALE_WEIGHT`; 0 learns nothing from the spans).

    Returns
    -------
    (Pipeline, dict)
        The fitted pipeline and its metadata (which includes ``path`` when it was saved).
    """
    if folds < 2:
        raise DataError(f"thresholds are chosen on article folds: folds must be at least 2 (got {folds})")
    started = time.perf_counter()
    semantic = None
    if encoder_enabled() if encoder is None else encoder:
        sentence_encoder = SentenceEncoder()
        sentence_encoder.disk_cache = True
        semantic = SemanticContext(sentence_encoder)
    frame = data.frame.reset_index(drop=True)
    y = label_targets(frame, majority_labels)
    weights = _row_weights(frame["source"], source_weights or {})
    comments = build_comments(frame, data.articles)
    groups = article_groups(frame)
    train_rows, test_rows = split_by_article(frame, seed, test_size)
    if len(set(groups[train_rows])) < 2:
        raise DataError("thresholds are chosen on article folds: the training rows need at least two articles")
    corpus = _Corpus(comments, y, weights, frame["article_id"].tolist(),
                     frame[SPANS].tolist() if SPANS in frame else [None] * len(frame))
    fit_params = {"n_topics": n_topics, "C": C, "min_positives": min_positives, "semantic": semantic}
    fit_set = _fit_set(corpus, train_rows, np.random.default_rng(seed), swap_fraction, semantic, rationale_weight)
    log(f"training on {len(train_rows)} comments (+{fit_set.swaps} context swaps, +{fit_set.copies} without "
        f"context, +{fit_set.contrasts} without their marked spans), testing on {len(test_rows)}")
    pipeline = fit_pipeline(fit_set.comments, fit_set.y, fit_set.weights, **fit_params)
    labels = list(pipeline.named_steps["labels"].labels_)
    columns = [LABELS.index(label) for label in labels]
    fold_scores, fold_parts = out_of_fold_scores(corpus, groups, train_rows, labels, folds, seed, swap_fraction,
                                                 rationale_weight, fit_params, log)
    chosen = {label: thresholds.choose(y[train_rows, c], fold_scores[:, k], label,
                                       min_positives=min_deciding_positives)
              for k, (label, c) in enumerate(zip(labels, columns))}
    test_scores = pipeline.predict_proba([comments[i] for i in test_rows]) if len(test_rows) else np.zeros((0, len(labels)))
    metrics = evaluate_predictions(y[test_rows][:, columns], test_scores, labels, chosen)
    metadata = {
        "labels": labels,
        "thresholds": {label: {k: v for k, v in t.items() if k != "basis"} for label, t in chosen.items()},
        "threshold_basis": {label: t["basis"] for label, t in chosen.items()},
        "reject_labels": [label for label in labels if label in REJECT_LABELS],
        "metrics": metrics,
        "languages": ["en"],
        "encoder": {**semantic.encoder.identity, "max_tokens": semantic.encoder.max_tokens} if semantic else None,
        "training": {
            "sources": data.sources, "rows": int(len(frame)), "train_rows": int(len(train_rows)),
            "test_rows": int(len(test_rows)), "context_swaps": fit_set.swaps, "context_free_copies": fit_set.copies,
            "rationale_contrasts": fit_set.contrasts,
            "seed": seed, "split": "by article",
            "thresholds": {"chosen_on": "out-of-fold scores of the training rows", "grouped_by": "article",
                           "folds": len(fold_parts), "rows": int(len(train_rows)),
                           "fold_rows": [part["rows"] for part in fold_parts],
                           "fold_articles": [part["articles"] for part in fold_parts],
                           "fold_labels_learnt": [part["labels"] for part in fold_parts],
                           "min_deciding_positives": min_deciding_positives,
                           "not_deciding": [label for label, t in chosen.items() if not t["decides"]]},
            "label_counts": {label: {"known": int((~np.isnan(y[:, i])).sum()), "positive": int((y[:, i] >= 0.5).sum())}
                             for i, label in enumerate(LABELS)},
            "skipped_labels": [label for label in LABELS if label not in labels],
            "seconds": round(time.perf_counter() - started, 2),
            "parameters": {"n_topics": n_topics, "C": C, "swap_fraction": swap_fraction, "test_size": test_size,
                           "folds": folds, "source_weights": source_weights or {},
                           "majority_labels": list(majority_labels), "rationale_weight": rationale_weight},
        },
    }
    if registry is not None:
        path = registry.save(pipeline, metadata)
        metadata = {**read_metadata(path), "path": str(path)}
    return pipeline, metadata

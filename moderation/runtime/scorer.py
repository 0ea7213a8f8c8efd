"""Score comments with a loaded artifact, decide with a policy, and explain flags as character spans."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..model.comment import Comment
from .artifact import Artifact
from .policy import Decision, Policy

_SEGMENT_RE = re.compile(r"\w[\w'’*#@$!|+.\-]*\w|\w")
MAX_SEGMENTS = 60
MIN_SPAN_SCORE = 0.02
# Up to these sizes, featurising without scipy matrices (CommentFeaturizer.rows, text_rows) is faster than the
# pipeline: comments (the break-even is 16 to 32, from comments on many articles to comments on one article),
# and the text-only occlusion variants of comments.
SMALL_BATCH = 24
SMALL_VARIANT_BATCH = 64


@dataclass
class Result:
    """Scores, decision and explanation of one comment."""

    scores: dict[str, float]
    decision: Decision
    spans: list[dict] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict) -> "Result":
        return cls(data["scores"], Decision(data["decision"], data["flags"], data["reasons"]), data["spans"])

    def as_dict(self) -> dict:
        return {"scores": self.scores, "flags": self.decision.flags, "decision": self.decision.decision,
                "reasons": self.decision.reasons, "spans": self.spans}


def segments(text: str) -> list[tuple[int, int]]:
    """Character ranges of the words of ``text``, grouped into at most MAX_SEGMENTS runs of neighbours."""
    words = [m.span() for m in _SEGMENT_RE.finditer(text)]
    if len(words) <= MAX_SEGMENTS:
        return words
    size = -(-len(words) // MAX_SEGMENTS)
    return [(words[i][0], words[min(i + size, len(words)) - 1][1]) for i in range(0, len(words), size)]


class Scorer:
    """A model artifact and its default policy, ready to score batches of comments."""

    def __init__(self, artifact: Artifact, policy_overrides: dict | None = None):
        self.artifact = artifact
        self.pipeline = artifact.pipeline
        self.labels: list[str] = list(self.pipeline[-1].labels_)
        self.policy = Policy.from_model(artifact.thresholds, policy_overrides, artifact.reject_labels)
        self.pipeline[0].warm_up()

    @property
    def version(self) -> str:
        return self.artifact.version

    def predict(self, comments: list[Comment]) -> np.ndarray:
        """Probabilities, one row per comment and one column per label in ``labels`` order."""
        if not comments:
            return np.zeros((0, len(self.labels)))
        if len(comments) <= SMALL_BATCH:
            return self.pipeline[-1].predict_proba(self.pipeline[0].rows(comments))
        return self.pipeline.predict_proba(comments)

    def moderate(self, comments: list[Comment], policies: list[Policy] | None = None,
                 explain: bool = True) -> list[Result]:
        """Score, decide and (for flagged labels) explain a batch of comments."""
        probabilities = self.predict(comments)
        results = []
        for i, row in enumerate(probabilities.tolist()):  # Python floats: the rounding is that of float(p)
            scores = {label: round(p, 4) for label, p in zip(self.labels, row)}
            decision = (policies[i] if policies else self.policy).decide(scores)
            results.append(Result(scores, decision))
        if explain:
            self._explain(comments, probabilities, results)
        return results

    def _predict_variants(self, variants: list[Comment], labels: set[str]) -> np.ndarray:
        """Probabilities of occluded variants; labels that read only the text skip the context features."""
        features, classifier = self.pipeline[0], self.pipeline[-1]
        if labels <= set(classifier.text_only):
            texts = [v.text for v in variants]
            small = len(texts) <= SMALL_VARIANT_BATCH
            return classifier.predict_proba_text(features.text_rows(texts) if small else features.text_features(texts))
        if len(variants) <= SMALL_BATCH:
            return classifier.predict_proba(features.rows(variants, keep_own=False))
        return self.pipeline.predict_proba(variants)

    def _explain(self, comments, probabilities, results) -> None:
        """Occlusion: a span's score is how much the label's probability drops when its words are removed."""
        variants, owners = [], []
        for i, (comment, result) in enumerate(zip(comments, results)):
            if not result.decision.flags:
                continue
            for begin, end in segments(comment.text):
                text = comment.text[:begin] + " " + comment.text[end:]
                variants.append(Comment(text, comment.article, comment.thread, comment.parent))
                owners.append((i, begin, end))
        if not variants:
            return
        occluded = self._predict_variants(variants, {label for r in results for label in r.decision.flags})
        for (i, begin, end), row in zip(owners, occluded):
            for label in results[i].decision.flags:
                j = self.labels.index(label)
                drop = float(probabilities[i, j] - row[j])
                if drop >= MIN_SPAN_SCORE:
                    results[i].spans.append({"label": label, "begin": begin, "end": end,
                                             "text": comments[i].text[begin:end], "score": round(drop, 4)})
        for result in results:
            result.spans.sort(key=lambda s: (s["label"], -s["score"]))

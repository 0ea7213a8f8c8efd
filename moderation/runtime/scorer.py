"""Score comments with a loaded artifact, decide with a policy, and explain flags as character spans."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.comment import Comment
from .artifact import Artifact
from .explain import EXPLAIN_FROM, explain
from .policy import Decision, Policy

# Up to this many comments, featurising without scipy matrices (CommentFeaturizer.rows) is faster than the
# pipeline (the break-even is 16 to 32, from comments on many articles to comments on one article).
SMALL_BATCH = 24


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

    def prepare_article(self, article: str | None) -> None:
        """Compute what scoring under this article text needs once (its sentences' embeddings), ahead of comments."""
        semantic = self.pipeline[0].semantic
        if article and semantic is not None:
            semantic.prepare_article(article)

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
            self._explain(comments, results, policies or [self.policy] * len(comments))
        return results

    def _explain(self, comments: list[Comment], results: list[Result], policies: list[Policy]) -> None:
        """Spans for each label that reads the text alone (the toxicity labels) and scores at least EXPLAIN_FROM
        of its flag threshold; the reason of a label that reads the context (off-topic) says what the comment
        was compared with (with the semantic tier).

        Off-topic reads the comment's context: the words of the comment alone do not explain it.
        """
        features, classifier = self.pipeline[0], self.pipeline[-1]
        context_labels = set() if features.semantic is None else set(self.labels) - set(classifier.text_only)
        for comment, result, policy in zip(comments, results, policies):
            labels = [label for label in classifier.text_only if label in result.scores
                      and result.scores[label] >= EXPLAIN_FROM * policy.flag_threshold(label)]
            result.spans = explain(features, classifier, comment.text, labels)
            for reason in result.decision.reasons:
                if reason.get("label") in context_labels:
                    compared = features.semantic.compared_with(comment)
                    if compared is not None:
                        reason["compared_with"] = compared

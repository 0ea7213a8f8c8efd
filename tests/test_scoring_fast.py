"""The small-batch scoring path (CSR arrays, cached context) against the scipy pipeline it stands in for."""
from __future__ import annotations

import copy
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse as sp

from moderation.model import features as features_module
from moderation.model.comment import Comment
from moderation.model.sparse_rows import SparseRows, hstack_rows, vstack_rows
from moderation.runtime.policy import Policy
from moderation.runtime.scorer import SMALL_BATCH, Scorer

ARTICLE = ("Old bridge reopens after repairs\nThe river bridge on Mill Road reopens Monday after eight months of "
           "repairs to its steel deck. Buses return to route 12 and a painted cycle lane runs on both sides.")
THREAD = (
    "Great news, the detour added twenty minutes to my drive.",
    "Eight months for a bridge deck seems slow but glad it is done.",
    "Will the bridge have a proper cycle lane now?",
    "You are an idiot if you think that bridge is safe.",
    "Eight months for a bridge deck seems slow but glad it is done.",  # a repeated text
    "",
    "Ça roule enfin sur le pont, très bien 👍",
)
LONG = " ".join(["the bridge deck"] * 60 + ["you pathetic idiot"] + ["repairs took months"] * 10)
TEXTS = [
    "You are a pathetic idiot",
    "The council are a bunch of clueless morons who couldn't fix a bicycle.",
    "y0u 4re a p4thetic 1d10t and a m0r0n",
    "what a f*cking moron, sh#t for brains",
    "s h i t head, you are s.t.u.p.i.d",
    "Tu es un idiöt, vraiment ïdiot et pathétique",
    "уоu аrе а mоrоn",  # Cyrillic look-alikes
    "Ｙｏｕ ａｒｅ ａｎ ｉｄｉｏｔ",
    "idiooooot!!! stuuuupid people",
    "Buy cheap sunglasses at http://spam.example.com/deal now, idiot",
    "mail idiot@example.com or ask @moron, www.shop.biz has discount codes",
    "you 🤬 idiot 😡😡 go away",
    "I am not calling you an idiot, but nobody asked you.",
    "He called me a moron yesterday and I said \"you are stupid\".",
    "Line one\nline two, you idiot\ttabbed",
    "Shut up, you clueless idiot, nobody asked you.",
    "Will the bridge have a proper cycle lane now?",
    "Best crypto signals, join my channel for free profits!",
    "My cat knocked over the christmas tree again lol.",
    LONG,
    "idiot",
    "!!!",
    "   ",
    "",
    "\u0301\u0301 zalgo i\u0336d\u0336i\u0336o\u0336t",
]


def _contexts(text: str, i: int) -> list[Comment]:
    """The text alone and with every combination of context, varied by ``i``."""
    return [
        Comment(text),
        Comment(text, ARTICLE),
        Comment(text, ARTICLE, THREAD[: 1 + i % len(THREAD)]),
        Comment(text, None, THREAD, THREAD[i % 4]),
        Comment(text, ARTICLE, (), text),
        Comment(text, text, (text, text, "")),
        Comment(text, ARTICLE, THREAD * 9, THREAD[3]),  # longer than MAX_THREAD
    ]


COMMENTS = [c for i, text in enumerate(TEXTS) for c in _contexts(text, i)]


@pytest.fixture(params=["tiny", "default"])
def pipeline(request, tiny_registry, default_registry):
    registry = tiny_registry if request.param == "tiny" else default_registry
    return copy.deepcopy(registry.load_current().pipeline)  # a fresh context cache for each test


def _rows_proba(pipeline, comments):
    return pipeline[-1].predict_proba(pipeline[0].rows(comments))


@pytest.mark.parametrize("size", [1, 2, 3, 7, SMALL_BATCH, 64])
def test_rows_give_the_pipelines_probabilities(pipeline, size):
    expected = pipeline.predict_proba(COMMENTS)
    for start in range(0, len(COMMENTS), size):
        batch = COMMENTS[start:start + size]
        np.testing.assert_allclose(_rows_proba(pipeline, batch), expected[start:start + size], rtol=0, atol=1e-5)


def test_rows_are_the_transforms_features_exactly(pipeline):
    """The products add their terms in scipy's order, so the features are the same floats, not merely close."""
    for start in range(0, len(COMMENTS), 5):
        batch = COMMENTS[start:start + 5]
        rows, matrix = pipeline[0].rows(batch).to_csr(), pipeline[0].transform(batch)
        assert rows.shape == matrix.shape
        assert np.array_equal(rows.indptr, matrix.indptr) and np.array_equal(rows.indices, matrix.indices)
        assert np.array_equal(rows.data, matrix.data)


def test_an_empty_batch_has_no_rows(pipeline):
    assert pipeline[0].rows([]).to_csr().shape == pipeline[0].transform([]).shape == (0, pipeline[0].n_features_out_)
    assert pipeline[0].text_rows([]).shape == (0, pipeline[0].n_text_features_)


def test_duplicates_and_plain_strings_in_one_batch(pipeline):
    batch = [COMMENTS[7], COMMENTS[7], "plain string, you idiot", COMMENTS[7], Comment("")]
    np.testing.assert_allclose(_rows_proba(pipeline, batch), pipeline.predict_proba(batch), rtol=0, atol=1e-5)


def test_scorer_gives_the_same_scores_for_small_and_large_batches(pipeline):
    scorer = Scorer(_artifact(pipeline))
    large = COMMENTS[: SMALL_BATCH + 6]
    together = scorer.moderate(large, explain=False)
    alone = [scorer.moderate([c], explain=False)[0] for c in large]
    expected = pipeline.predict_proba(large)
    for row, a, b in zip(expected, together, alone):
        assert a.scores == b.scores == {label: round(float(p), 4) for label, p in zip(scorer.labels, row)}


def test_cached_context_gives_the_same_results_as_a_cold_cache(pipeline):
    cold = _rows_proba(copy.deepcopy(pipeline), COMMENTS[:30])
    _rows_proba(pipeline, COMMENTS)  # fill the cache
    assert len(pipeline[0]._context_cache) > 0
    np.testing.assert_array_equal(_rows_proba(pipeline, COMMENTS[:30]), cold)


def test_context_cache_is_bounded_in_texts_and_bytes(pipeline, monkeypatch):
    expected = pipeline.predict_proba(COMMENTS)
    monkeypatch.setattr(features_module, "CONTEXT_CACHE_TEXTS", 3)
    small = copy.deepcopy(pipeline)
    np.testing.assert_allclose(np.vstack([_rows_proba(small, [c]) for c in COMMENTS]), expected, rtol=0, atol=1e-5)
    assert len(small[0]._context_cache) == 3
    monkeypatch.setattr(features_module, "CONTEXT_CACHE_TEXTS", 1000)
    monkeypatch.setattr(features_module, "CONTEXT_CACHE_BYTES", 4000)
    lean = copy.deepcopy(pipeline)
    np.testing.assert_allclose(np.vstack([_rows_proba(lean, [c]) for c in COMMENTS]), expected, rtol=0, atol=1e-5)
    cache = lean[0]._context_cache
    assert 0 < cache.bytes <= 4000 and len(cache) < len({t for c in COMMENTS for t in (c.article, c.parent, *c.thread)})
    assert cache.bytes == sum(cache.size(text, vector) for text, vector in cache._entries.items())


def test_context_cache_is_not_pickled(pipeline):
    before = pickle.dumps(pipeline)
    _rows_proba(pipeline, COMMENTS)
    assert len(pipeline[0]._context_cache) > 0
    after = pickle.dumps(pipeline)
    assert after == before
    assert "_context_cache" not in pickle.loads(after)[0].__dict__


def test_scored_comments_are_kept_as_context_and_explanations_add_nothing(pipeline):
    scorer = Scorer(_artifact(pipeline))
    eager = Policy.from_model(scorer.policy.thresholds, {label: {"flag": 0.0} for label in scorer.labels})
    comment = Comment("Shut up, you clueless idiot, nobody asked you.", ARTICLE, THREAD)
    result = scorer.moderate([comment], [eager])[0]
    assert set(result.decision.flags) == set(scorer.labels)
    assert set(pipeline[0]._context_cache._entries) == {comment.text, ARTICLE} | set(filter(None, THREAD))
    later = Comment("Agreed, the bridge looks fine.", ARTICLE, THREAD + (comment.text,))
    np.testing.assert_allclose(_rows_proba(pipeline, [later]), pipeline.predict_proba([later]), rtol=0, atol=1e-5)


def test_threads_sharing_a_small_cache_get_the_serial_results(pipeline, monkeypatch):
    monkeypatch.setattr(features_module, "CONTEXT_CACHE_TEXTS", 4)  # constant eviction while threads read
    shared = copy.deepcopy(pipeline)
    expected = pipeline.predict_proba(COMMENTS)
    with ThreadPoolExecutor(4) as pool:
        rows = list(pool.map(lambda c: _rows_proba(shared, [c])[0], COMMENTS * 3))
    np.testing.assert_allclose(np.vstack(rows), np.vstack([expected] * 3), rtol=0, atol=1e-5)


def _artifact(pipeline):
    from moderation.runtime.artifact import Artifact

    labels = list(pipeline[-1].labels_)
    return Artifact(pipeline, {"version": "test", "labels": labels,
                               "thresholds": {label: {"flag": 0.5, "review": 0.3, "reject": 0.9} for label in labels}})


def _random_csr(rng, n_rows: int, n_columns: int) -> sp.csr_matrix:
    lengths = rng.integers(0, min(300, n_columns), size=n_rows)
    lengths[rng.random(n_rows) < 0.2] = 0
    indices = [np.sort(rng.choice(n_columns, size, replace=False)) for size in lengths]
    return sp.csr_matrix((rng.random(int(lengths.sum())).astype(np.float32), np.concatenate(indices),
                          np.r_[0, np.cumsum(lengths)]), shape=(n_rows, n_columns))


def _rows(matrix: sp.csr_matrix) -> SparseRows:
    return SparseRows(matrix.indptr, matrix.indices, matrix.data, matrix.shape[1])


@pytest.mark.parametrize("n_labels", [1, 2, 7])
def test_sparse_rows_product_is_scipys_to_the_last_bit(n_labels):
    rng = np.random.default_rng(n_labels)
    for n_rows in (1, 2, 5):
        matrix = _random_csr(rng, n_rows, 1000)
        dense = rng.normal(size=(1000, n_labels)).astype(np.float32)
        assert np.array_equal(_rows(matrix) @ dense, np.asarray(matrix @ dense))
        assert np.array_equal(_rows(matrix) @ dense.T.copy().T, np.asarray(matrix @ dense))  # a transposed view


def test_sparse_rows_stack_and_take_like_scipy():
    rng = np.random.default_rng(0)
    a, b, c = _random_csr(rng, 4, 50), _random_csr(rng, 4, 30), _random_csr(rng, 3, 50)
    assert (hstack_rows([_rows(a), _rows(b)]).to_csr() != sp.hstack([a, b], format="csr")).nnz == 0
    assert (hstack_rows([_rows(a[:1]), _rows(b[:1])]).to_csr() != sp.hstack([a[:1], b[:1]], format="csr")).nnz == 0
    assert (vstack_rows([_rows(a), _rows(c)]).to_csr() != sp.vstack([a, c], format="csr")).nnz == 0
    assert (_rows(a).take(np.array([3, 0, 3])).to_csr() != a[[3, 0, 3]]).nnz == 0

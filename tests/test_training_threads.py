"""Training's small dense fits run their BLAS and OpenMP pools on one thread.

On a busy 2-core machine the pools' spinning threads made the topic bank's k-means++ 12 times slower in CPU
(10.8 against 0.85 CPU s on 3,500 embeddings) and the warm-cache training of the default model mostly that.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from moderation.model import semantic, topics
from moderation.model.comment import Comment


class _RandomEncoder:
    """Unit vectors from the text's hash: the encoder's interface without its weights."""

    dimensions = 8

    def encode(self, texts):
        vectors = np.stack([np.random.default_rng(abs(hash(t)) % 2**32).standard_normal(self.dimensions)
                            for t in texts]).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _recording(cls, seen: list):
    class Recording(cls):
        def fit(self, *args, **kwargs):
            seen.extend(pool["num_threads"] for pool in threadpool_info())
            return super().fit(*args, **kwargs)
    return Recording


@pytest.fixture
def threads_seen(monkeypatch):
    seen = []
    monkeypatch.setattr(semantic, "MiniBatchKMeans", _recording(semantic.MiniBatchKMeans, seen))
    monkeypatch.setattr(topics, "TruncatedSVD", _recording(topics.TruncatedSVD, seen))
    return seen


def test_topic_bank_fits_on_one_thread(threads_seen):
    comments = [Comment(f"comment number {i} about the bridge and the buses") for i in range(40)]
    semantic.SemanticContext(_RandomEncoder(), n_topics=4).fit(comments)
    assert threads_seen and set(threads_seen) == {1}


def test_topic_space_fits_on_one_thread(threads_seen):
    texts = [f"bridge bus route {i % 7} deck railing cycle lane {i % 5} council" for i in range(40)]
    topics.TopicSpace(n_components=3)._fit_topics(texts)
    assert threads_seen and set(threads_seen) == {1}

"""The load benchmark's requests: every comment's id and text unique per request, targets per model tier."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not an installed package
from benchmarks.load import UNIQUE, _spread, _targets, batch_bodies, contextless_bodies, single_bodies  # noqa: E402


def _texts(body: str, n: str) -> list[str]:
    payload = json.loads(body.replace(UNIQUE, n))
    return [c["text"] for c in payload.get("comments", [payload.get("comment")])]


def test_texts_differ_between_requests_so_no_embedding_is_cached():
    # The service keeps the embeddings of texts it has seen: a body sent twice must not repeat a text.
    for bodies in (single_bodies(), contextless_bodies(), batch_bodies()):
        for body in bodies:
            first, second = _texts(body, "run-1"), _texts(body, "run-2")
            assert not set(first) & set(second)


def test_targets_follow_the_model_tier():
    at_rate = {"latency_ms": {"p99": 30.0}}
    saturated = {"requests_per_s": 150.0}
    scenarios = {"single, fixed rate": at_rate, "single, saturation": saturated}
    assert _targets(scenarios, 50, "semantic") == {"tier": "semantic", "p99_single_at_rate": True,
                                                   "single_at_saturation": True}
    assert _targets(scenarios, 200, "lexical") == {"tier": "lexical", "p99_single_at_rate": False,
                                                   "single_at_saturation": False}
    assert _targets(scenarios, 200, "semantic")["p99_single_at_rate"] is None  # not the tier's target rate
    assert _spread("single, saturation", [saturated, {"requests_per_s": 90.0}], "semantic")["meeting_target"] == 1

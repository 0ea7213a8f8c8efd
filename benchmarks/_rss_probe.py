"""Peak memory of a fresh process that has loaded one model and scored one comment (run by benchmarks.speed).

``python -m benchmarks._rss_probe ours MODEL_DIR`` | ``peer`` | ``baseline``; prints one JSON line.
"""
from __future__ import annotations

import json
import resource
import sys
import time


def probe(kind: str, model_dir: str | None = None) -> dict:
    """Load what ``kind`` names, score one comment, and report peak RSS (MiB) and load time."""
    started = time.perf_counter()
    if kind == "ours":
        from moderation.runtime.artifact import load
        from moderation.model.comment import Comment
        from moderation.runtime.scorer import Scorer

        scorer = Scorer(load(model_dir))
        loaded = time.perf_counter()
        scorer.moderate([Comment("A first comment to score.", "An article about parks.", ("Another comment.",))])
    elif kind == "peer":
        from profanity_check import predict_prob

        loaded = time.perf_counter()
        predict_prob(["A first comment to score."])
    elif kind == "baseline":
        import joblib  # noqa: F401  (imported for its memory, like the two real probes)
        import numpy  # noqa: F401
        import scipy.sparse  # noqa: F401
        import sklearn.linear_model  # noqa: F401

        loaded = time.perf_counter()
    else:
        raise SystemExit(f"unknown probe {kind!r} (use ours, peer or baseline)")
    return {"kind": kind, "peak_rss_mib": round(_peak_kib() / 1024, 1), "load_seconds": round(loaded - started, 3)}


def _peak_kib() -> int:
    """This process's peak resident set, KiB.

    /proc's VmHWM belongs to the current address space; getrusage's ru_maxrss can carry over the parent's
    peak across fork and exec, so it is only the fallback where /proc is missing.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    print(json.dumps(probe(*sys.argv[1:3])))

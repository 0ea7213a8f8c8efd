"""Soak in short mode: the production server under a steady rate answers everything, and memory stays flat."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not an installed package
from benchmarks.soak import run  # noqa: E402

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def test_short_soak_answers_everything_and_memory_stays_flat(tiny_registry):
    result = run(duration=20, rate=40, models=tiny_registry.root)
    client = result["client"]
    assert client["errors"] == {}, client["errors"]
    assert client["ok"] >= 0.95 * 40 * 20
    # Flat: after warm-up and the first quarter, the workers together grow by less than 15 MiB.
    assert result["rss_growth_after_first_quarter_mib"] is not None
    assert result["rss_growth_after_first_quarter_mib"] < 15, result["worker_rss_mib"]

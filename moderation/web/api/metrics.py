"""``GET /metrics`` (no key): Prometheus metrics of requests, decisions and the served model.

Under ``moderation serve`` (granian) or gunicorn every worker is a process of its own, and a scrape reaches
one of them. Point ``PROMETHEUS_MULTIPROC_DIR`` at an empty directory before the workers start (both do, in
:func:`moderation.server.prepare_environment`; ``moderation.gunicorn_conf`` also removes the gauges of
workers that exit, and each worker drops those of dead ones when it starts): each worker then writes its
values there and ``/metrics`` reports the sum over all workers. Without it, each process reports its own
values.
"""
from __future__ import annotations

import os
import threading
import time
from collections import Counter as Tally
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess, values

from ...runtime.policy import DECISIONS

# Scoring one comment takes a few milliseconds; a batch or a slow database tens of them.
LATENCY_BUCKETS = (0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25,
                   0.5, 1.0, 2.5)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"

bp = Blueprint("metrics", __name__)


def multiprocess_mode() -> bool:
    """True when prometheus_client was imported with ``PROMETHEUS_MULTIPROC_DIR`` set (values live in files)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


class Metrics:
    """The service's metrics and the registry ``/metrics`` exposes."""

    def __init__(self):
        self.multiprocess = multiprocess_mode()
        if self.multiprocess:  # e.g. `moderation serve --dev` with the variable set: the files need their directory
            os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
            _drop_dead_workers(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        # In multiprocess mode the values live in files that a MultiProcessCollector reads back, so the
        # metrics themselves join no registry (they would be reported twice).
        own = None if self.multiprocess else CollectorRegistry()
        self.requests = Counter("moderation_http_requests", "HTTP requests by route, method and status.",
                                ["endpoint", "method", "status"], registry=own)
        self.latency = Histogram("moderation_http_request_duration_seconds", "Time to answer a request, by route.",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=own)
        self.decisions = Counter("moderation_decisions", "Comments decided, by decision.", ["decision"],
                                 registry=own)
        self.flags = Counter("moderation_flags", "Comments flagged, by label.", ["label"], registry=own)
        self.scored = Counter("moderation_comments_scored", "Comments scored by the model.", registry=own)
        self.without_article = Counter(
            "moderation_comments_without_article", "Comments naming an article_id but scored without the article, "
            "by why: unknown_article, empty_article, store_unavailable.", ["reason"], registry=own)
        self.model = Gauge("moderation_model_info", "1 for the model version being served, 0 for ones served before.",
                           ["version"], multiprocess_mode="livemax", registry=own)
        self.reloads = Counter("moderation_model_reloads", "Switches to a newly promoted model version.",
                               registry=own)
        self.registry = own or CollectorRegistry()
        if self.multiprocess:
            WorkerFilesCollector(self.registry)
        for decision in DECISIONS:
            self.decisions.labels(decision)
        self._served_version: str | None = None
        self._lock = threading.Lock()

    def observe_model(self, scorer) -> None:
        """Note the served model: its version in the info gauge, and a reload when the version changed."""
        version = scorer.version if scorer is not None else None
        if version == self._served_version or version is None:
            return
        with self._lock:
            if version == self._served_version:
                return
            if self._served_version is not None:
                self.reloads.inc()
                self.model.labels(self._served_version).set(0)
            self.model.labels(version).set(1)
            for label in scorer.labels:
                self.flags.labels(label)
            self._served_version = version

    def observe_request(self, endpoint: str, method: str, status: int, seconds: float | None) -> None:
        self.requests.labels(endpoint, method if method in _METHODS else "other", str(status)).inc()
        if seconds is not None:
            self.latency.labels(endpoint).observe(seconds)

    def observe_outcomes(self, outcomes) -> None:
        """Count the decisions, flagged labels, model-scored comments and comments scored without their article
        of one request's outcomes."""
        decisions, flags, without_article, scored = Tally(), Tally(), Tally(), 0
        for outcome in outcomes:
            decisions[outcome.result.decision.decision] += 1
            flags.update(outcome.result.decision.flags)
            scored += bool(outcome.result.scores)
            if outcome.missing_article:
                without_article[outcome.missing_article] += 1
        for decision, count in decisions.items():
            self.decisions.labels(decision).inc(count)
        for label, count in flags.items():
            self.flags.labels(label).inc(count)
        if scored:
            self.scored.inc(scored)
        for reason, count in without_article.items():
            self.without_article.labels(reason).inc(count)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class WorkerFilesCollector(multiprocess.MultiProcessCollector):
    """Sums the workers' value files, leaving out a file that a booting worker has created but not yet sized.

    prometheus_client creates a worker's file empty and only then extends it and writes its header; a scrape
    answered by another worker in between would fail reading the header (a 500 from ``/metrics``, seen while
    a second worker was still loading its model). A file only ever grows, so one found non-empty stays readable.
    """

    def collect(self):
        return self.merge([str(path) for path in Path(self._path).glob("*.db") if _size(path)], accumulate=True)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # a dead worker's live gauge, removed since the directory was listed
        return 0


def _drop_dead_workers(directory: str) -> None:
    """Remove the live gauges of worker processes that no longer exist (one that crashed and was replaced)."""
    for path in Path(directory).glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _metrics() -> Metrics:
    return current_app.extensions["moderation.metrics"]


@bp.get("/metrics")
def scrape():
    """Prometheus metrics in the text exposition format."""
    return Response(_metrics().exposition(), content_type=CONTENT_TYPE_LATEST)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()
    _metrics().observe_model(current_app.extensions["moderation.model"].scorer)


def _record(response):
    started = g.get("metrics_started")
    metrics = _metrics()
    metrics.observe_request(request.url_rule.rule if request.url_rule else UNMATCHED, request.method,
                            response.status_code, time.perf_counter() - started if started is not None else None)
    outcomes = g.get("moderation_outcomes")
    if outcomes and response.status_code < 400:
        metrics.observe_outcomes(outcomes)
    return response


def init_app(app: Flask) -> None:
    metrics = app.extensions["moderation.metrics"] = Metrics()
    metrics.observe_model(app.extensions["moderation.model"].scorer)
    app.before_request(_start_timer)
    app.after_request(_record)
    app.register_blueprint(bp)

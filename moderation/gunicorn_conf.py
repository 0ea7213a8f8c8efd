"""Gunicorn settings for production: ``gunicorn -c python:moderation.gunicorn_conf 'moderation.app:create_app()'``.

Environment: ``MODERATION_BIND`` (default 0.0.0.0:8000), ``MODERATION_WORKERS`` (2), ``MODERATION_THREADS`` (4),
``MODERATION_TIMEOUT`` (30 s) and ``PROMETHEUS_MULTIPROC_DIR``.

Each worker builds its own app after the fork (no preload): the model, its watcher thread and the database
pool belong to one process. Workers write their metrics to ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary
directory unless set), which is emptied at start; a dead worker's live gauges are dropped when it exits.
This module must not import prometheus_client: it picks its mode when first imported, and workers inherit
whatever the master imported.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger

# One BLAS thread per worker: scoring's small products gain nothing from more, and with a pool per worker
# on every core the workers' pools spin against each other (measured: 20-50 % fewer requests/s).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="moderation-metrics-")

bind = os.environ.get("MODERATION_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("MODERATION_WORKERS", "2"))
# Scoring holds the GIL; threads let a worker overlap database waits and slow clients, not scoring.
threads = int(os.environ.get("MODERATION_THREADS", "4"))
worker_class = "gthread"
preload_app = False
timeout = int(os.environ.get("MODERATION_TIMEOUT", "30"))
graceful_timeout = 30  # in-flight requests finish on SIGTERM before a worker goes
keepalive = 5
accesslog = None  # moderation.logging writes one JSON line per request
errorlog = "-"
# Heartbeat files on tmpfs when there is one: a container's overlay /tmp can stall workers.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
proc_name = "moderation"


def _flag(name: str) -> bool:
    """An on/off setting from the environment, on unless set to 0, false, no or off."""
    return os.environ.get(name, "true").strip().lower() not in ("0", "false", "no", "off")


class _Logger(Logger):
    """Gunicorn's logger with its lines (start, worker exits, timeouts) as JSON, like the service's own."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if _flag("MODERATION_JSON_LOGS"):
            from moderation.logging import JsonFormatter

            for handler in self.error_log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        """Nothing: moderation.logging writes each request's line."""


logger_class = _Logger


def on_starting(server) -> None:
    """Empty the metrics directory and bring the database schema up to date, once, before any worker starts.

    Files left by an earlier run would add to this one's counters. Workers that each migrate a new
    database at the same moment race to create the same tables and fail to boot, so the master does it
    first (the database named by MODERATION_DATABASE_URL, else the SQLite file in MODERATION_HOME).
    """
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    if _flag("MODERATION_AUTO_MIGRATE"):
        from moderation import settings
        from moderation.store import Store

        try:
            store = Store(settings.database_url())
            store.upgrade()
            store.dispose()
        except Exception as error:  # the workers retry, and /readyz reports the database meanwhile
            server.log.warning("database migration before the workers start failed: %s", error)


def child_exit(server, worker) -> None:
    """Drop the live gauges of a worker that exited (its counters stay: they are part of the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)

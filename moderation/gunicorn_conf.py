"""Gunicorn settings: ``gunicorn -c python:moderation.gunicorn_conf 'moderation.web.app:create_app()'``.

The default production server is granian (``moderation serve``, :mod:`moderation.server`); gunicorn is the
alternative for deployments that standardise on it.

Environment: ``MODERATION_BIND`` (default 0.0.0.0:8000), ``MODERATION_WORKERS`` (2), ``MODERATION_THREADS`` (2),
``MODERATION_TIMEOUT`` (30 s) and ``PROMETHEUS_MULTIPROC_DIR``.

Each worker builds its own app after the fork (no preload): the model, its watcher thread and the database
pool belong to one process. Workers write their metrics to ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary
directory unless set), which is emptied at start; a dead worker's live gauges are dropped when it exits.
This module must not import prometheus_client: it picks its mode when first imported, and workers inherit
whatever the master imported.
"""
from __future__ import annotations

import os
from pathlib import Path

from gunicorn.glogging import Logger

from moderation.server import DEFAULT_THREADS, DEFAULT_WORKERS, prepare_environment, prepare_master
from moderation.settings import env_flag

prepare_environment()

bind = os.environ.get("MODERATION_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("MODERATION_WORKERS", DEFAULT_WORKERS))
# Scoring holds the GIL; threads let a worker overlap database waits and slow clients, not scoring.
threads = int(os.environ.get("MODERATION_THREADS", DEFAULT_THREADS))
worker_class = "gthread"
preload_app = False
timeout = int(os.environ.get("MODERATION_TIMEOUT", "30"))
graceful_timeout = 30  # in-flight requests finish on SIGTERM before a worker goes
keepalive = 5
accesslog = None  # moderation.web.request_log writes one JSON line per request
errorlog = "-"
# Heartbeat files on tmpfs when there is one: a container's overlay /tmp can stall workers.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None
proc_name = "moderation"


class _Logger(Logger):
    """Gunicorn's logger with its lines (start, worker exits, timeouts) as JSON, like the service's own."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if env_flag("MODERATION_JSON_LOGS"):
            from moderation.web.request_log import JsonFormatter

            for handler in self.error_log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        """Nothing: moderation.web.request_log writes each request's line."""


logger_class = _Logger


def on_starting(server) -> None:
    """Empty the metrics directory and migrate the database before any worker starts."""
    prepare_master(server.log.warning)


def post_worker_init(worker) -> None:
    """Keep the loaded model out of the garbage collector's full passes (see moderation.server.worker_app)."""
    import gc

    gc.freeze()


def child_exit(server, worker) -> None:
    """Drop the live gauges of a worker that exited (its counters stay: they are part of the totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)

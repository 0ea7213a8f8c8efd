"""The production server: ``moderation serve`` runs the app under granian (a Rust HTTP server) with WSGI workers.

Each worker process builds its own app after it starts (``create_app`` as a factory): the model, its
watcher thread, the thread-memory writer and the database pool belong to one process. Before any worker
starts, the master empties the metrics directory and brings the schema up to date. gunicorn remains
supported (``moderation/gunicorn_conf.py``); both share :func:`prepare_environment` and :func:`prepare_master`.
Neither imports numpy or prometheus_client: workers must pick their settings up from the environment.
"""
from __future__ import annotations

import gc
import logging
import os
import tempfile
from pathlib import Path

from . import settings
from .settings import THREAD_POOL_SETTINGS, env_flag

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2  # one per core of the machine this was measured on
# Threads of one worker share one interpreter lock: under load, 2 gave more requests/s and a shorter tail
# than 4 (benchmarks/README-load.md); more help only when requests wait on a remote database.
DEFAULT_THREADS = 2


def prepare_environment() -> None:
    """Settings every worker inherits: one BLAS thread each, and a directory for multi-process metrics.

    Scoring's small matrix products gain nothing from a BLAS thread pool, and a pool per worker on every
    core makes the workers' pools spin against each other (20 to 50 % fewer requests/s when measured).
    """
    for variable in THREAD_POOL_SETTINGS:
        os.environ.setdefault(variable, "1")
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="moderation-metrics-")


def prepare_master(warn=log.warning) -> None:
    """Empty the metrics directory and migrate the database, once, before the workers start.

    Files left by an earlier run would add to this one's counters. Migrating here spares the workers
    from queueing on the migration lock at start (the database named by MODERATION_DATABASE_URL, else the
    SQLite file in MODERATION_HOME); if it fails, the workers retry and /readyz reports the database.
    """
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    if env_flag("MODERATION_AUTO_MIGRATE"):
        from .store import Store

        try:
            store = Store(settings.database_url())
            store.upgrade()
            store.dispose()
        except Exception as error:
            warn("database migration before the workers start failed: %s", error)


def worker_app():
    """A worker's app, with everything built so far moved out of the garbage collector's sight.

    The model, its vocabularies and the imported libraries are some 220,000 objects that live as long as the
    worker; a full collection walks them all (about 0.1 s here), a stall in whichever request triggers it.
    Frozen, they are still freed by reference counting, just never scanned.
    """
    from threadpoolctl import threadpool_limits

    from .web.app import create_app

    # The environment set by prepare_environment comes too late when the launching process had already
    # imported numpy (the `moderation` CLI does), and forked workers inherit its pools: limit them here.
    threadpool_limits(1)
    app = create_app()
    gc.freeze()
    return app


def bind_address(bind: str) -> tuple[str, int]:
    """``host:port`` (``MODERATION_BIND``) as a pair; IPv6 hosts in brackets."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"bind address must be HOST:PORT, not {bind!r}")
    return host.strip("[]"), int(port)


def serve(bind: str, workers: int, threads: int, backpressure: int | None = None) -> None:
    """Run granian in the foreground until SIGTERM/SIGINT, which lets in-flight requests finish.

    Parameters
    ----------
    bind : str
        ``HOST:PORT`` to listen on.
    workers : int
        Worker processes; one per core.
    threads : int
        Threads per worker running requests (scoring holds the GIL; threads overlap database waits).
    backpressure : int, optional
        Requests a worker accepts at once before it stops reading new ones (granian's default:
        its backlog divided among the workers).
    """
    from granian import Granian
    from granian.constants import Interfaces

    prepare_environment()
    prepare_master()
    host, port = bind_address(bind)
    Granian("moderation.server:worker_app", address=host, port=port, interface=Interfaces.WSGI, factory=True,
            workers=workers, blocking_threads=threads, runtime_threads=1, backpressure=backpressure,
            respawn_failed_workers=True, workers_kill_timeout=30, log_access=False,  # ours: moderation.web.request_log
            log_dictconfig=_json_logging() if env_flag("MODERATION_JSON_LOGS") else None,
            websockets=False).serve()


def _json_logging() -> dict:
    """granian's own lines (start, workers, errors) as JSON on stderr, like the service's."""
    formatter = {"()": "moderation.web.request_log.JsonFormatter"}
    handler = {"formatter": "json", "class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    return {"formatters": {"json": formatter}, "handlers": {"console": handler, "access": handler}}

"""Request logs: a request id on every request and one log line per request, as JSON by default.

The line holds the method, the path without its query string (Perspective clients put their key there),
the status, the duration, the request id and the API key's id: never a key, never comment text.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, request

from ..settings import flag

REQUEST_ID_HEADER = "X-Request-ID"
# Visible ASCII with inner spaces, at most 128 characters: anything else is replaced, not echoed.
_SANE_REQUEST_ID = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?")
# Fields a record may carry through ``extra=`` that belong in the JSON line.
_REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "request_id", "api_key_id")

access_log = logging.getLogger("moderation.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request fields, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        for name in _REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    """``JSON_LOGS = False``: one plain line, the request id in brackets when there is one."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} [{request_id}]" if request_id else line


def request_id_from(value: str | None) -> str:
    """The client's request id when it is sane (printable ASCII, 1 to 128 characters), else a fresh one."""
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def configure(json_logs: bool = True) -> None:
    """Send ``moderation.*`` INFO logs to stderr, unless the process already configured logging.

    Like :func:`logging.basicConfig`, this leaves a root logger that has handlers alone (gunicorn's
    ``--log-config``, pytest's capture), and adds one handler at most however many apps are created.
    """
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter() if json_logs else _TextFormatter())
        root.addHandler(handler)
    package = logging.getLogger("moderation")
    if package.level == logging.NOTSET:
        package.setLevel(logging.INFO)


def _start_request() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def _finish_request(response):
    request_id = g.get("request_id") or request_id_from(None)
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
    key = g.get("api_key")
    access_log.info("%s %s %s %s ms", request.method, request.path, response.status_code, duration_ms,
                    extra={"method": request.method, "path": request.path, "status": response.status_code,
                           "duration_ms": duration_ms, "request_id": request_id,
                           "api_key_id": key.id if key is not None else None})
    return response


def init_app(app: Flask) -> None:
    """Configure logging and register the request-id and request-log hooks (first in, last out)."""
    configure(flag(app.config["JSON_LOGS"]))  # MODERATION_JSON_LOGS=off: a value that is not JSON stays a string
    app.before_request(_start_request)
    app.after_request(_finish_request)

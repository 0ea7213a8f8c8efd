"""Per-key rate limits on the API (Flask-Limiter): in memory by default, Redis when configured."""
from __future__ import annotations

import hashlib

from flask import Flask, request
from flask_limiter import HeaderNames, Limiter

from .requests import presented_key

LIMITED_PREFIXES = ("/v1/", "/v1alpha1/", "/comments:")
RETRY_AFTER_HEADER = "X-RateLimit-Retry-After"


def _client() -> str:
    """The API key (hashed, so the limiter's store never holds a secret), else the client address."""
    key = presented_key()
    if key:
        return "key:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return "ip:" + (request.remote_addr or "unknown")


def init_app(app: Flask) -> Limiter:
    # Flask-Limiter would put its Retry-After on every response (overwriting a 503's own); it writes to a
    # header of its own instead, copied to Retry-After on 429 only. Registered first, so it runs last.
    @app.after_request
    def _retry_after_on_429(response):
        if response.status_code == 429 and RETRY_AFTER_HEADER in response.headers:
            response.headers["Retry-After"] = response.headers[RETRY_AFTER_HEADER]
        return response

    limiter = Limiter(_client, app=app, default_limits=[app.config["RATE_LIMIT"]] if app.config["RATE_LIMIT"] else [],
                      storage_uri=app.config["RATE_LIMIT_STORAGE_URI"], headers_enabled=True,
                      header_name_mapping={HeaderNames.RETRY_AFTER: RETRY_AFTER_HEADER},
                      strategy="moving-window", swallow_errors=True,
                      enabled=bool(app.config["RATE_LIMIT"]))  # no limit: none of its per-request hooks either

    @limiter.request_filter
    def _not_api() -> bool:
        return not request.path.startswith(LIMITED_PREFIXES)

    app.extensions["moderation.limiter"] = limiter
    return limiter

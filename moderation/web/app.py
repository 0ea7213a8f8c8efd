"""The Flask application factory: configuration, then every process-wide object the blueprints share."""
from __future__ import annotations

import json
import os

from flask import Flask

from .. import settings
from ..model.comment import MAX_THREAD
from ..review import events, reasons
from ..runtime import ModelHolder, Registry
from ..service import ArticleCache, KeyVerifier, Moderation, ThreadMemory, WordListCache
from ..settings import flag
from ..store import Store
from . import errors
from . import request_log as request_logs

DEFAULTS = {
    "DATABASE_URL": None,  # default: SQLite file in $MODERATION_HOME
    "MODELS_DIR": None,  # default: $MODERATION_HOME/models
    "AUTO_MIGRATE": True,  # apply migrations at start (the embedded default needs no set-up)
    "MAX_BATCH": 100,
    "MAX_TEXT_CHARS": 20_000,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "THREAD_MEMORY": 50,  # comments remembered per article as context (at most 50)
    "THREAD_REFRESH_SECONDS": 1.0,  # how stale a worker's copy of a thread may be against other workers'
    "THREAD_WRITE_SECONDS": 0.05,  # thread memory is written behind the answer after this delay (0: before it)
    "ARTICLE_CACHE_SECONDS": 5.0,  # an article updated through another worker is seen within this time
    "MODEL_POLL_SECONDS": 2.0,
    "POLICY": None,  # deployment-wide threshold overrides: {"toxic": {"review": 0.2}}
    "AUTHOR_POLICY": None,  # author rules, off by default: {"hold_first": 3, "max_rejected_share": 0.5, ...}
    "LANGUAGE_DETECTION": True,
    "CORAL_SIGNING_SECRETS": [],  # Coral external-moderation signing secrets (empsec_...)
    "CORAL_REJECT_STATUS": "REJECTED",  # Coral status for rejections: REJECTED, or SYSTEM_WITHHELD to hold them
    "JSON_LOGS": True,
    "RATE_LIMIT": "6000/minute",  # per API key on /v1 and /v1alpha1; empty to disable
    "RATE_LIMIT_STORAGE_URI": "memory://",  # redis://127.0.0.1:6379 to share limits between processes
    "STORE_COMMENTS": "held",  # keep comments for the review queue: held (review + reject), all, none
    "REJECTION_REASONS": None,  # codes a rejection may give (list or comma-separated); default Coral's ten
    "WEBHOOK_URL": None,  # the comment system's endpoint for moderators' decisions (and queue events)
    "WEBHOOK_EVENTS": None,  # what it receives: comment.held, comment.released, comment.decided (the default)
    "WEBHOOK_SECRET": None,  # HMAC-SHA256 key for the webhook signature
    "WEBHOOK_TIMEOUT": 5.0,
    "WEBHOOK_POLL_SECONDS": 1.0,
    "REVIEW_SECURE_COOKIES": None,  # review UI session cookie Secure: true, false, or null = when the request is TLS
    "REVIEW_TRUSTED_PROXIES": 0,  # proxies in front of the review UI whose X-Forwarded-For/-Proto are trusted
    "REVIEW_LOGIN_MAX_FAILURES": 5,  # failed logins per user name and per client address ...
    "REVIEW_LOGIN_WINDOW_SECONDS": 900,  # ... within this window, before logins are refused
    "REVIEW_SESSION_HOURS": 12,
    "REVIEW_PAGE_SIZE": 25,
    "REVIEW_BULK_MAX": 500,  # most comments one bulk action decides
}


def create_app(config: dict | None = None) -> Flask:
    """Build the service: configuration from defaults, ``MODERATION_*`` environment, instance file, ``config``.

    Parameters
    ----------
    config : dict, optional
        Overrides applied last (tests pass a database URL and a models directory here).
    """
    app = Flask(__name__, instance_path=str(settings.home()), instance_relative_config=True)
    app.config.update(DEFAULTS)
    app.config.from_prefixed_env("MODERATION")
    app.config.from_pyfile("config.py", silent=True)
    if os.environ.get("MODERATION_CONFIG"):
        app.config.from_pyfile(os.environ["MODERATION_CONFIG"])
    app.config.update(config or {})
    for name in ("POLICY", "AUTHOR_POLICY"):
        if isinstance(app.config[name], str):
            app.config[name] = json.loads(app.config[name]) if app.config[name].strip() else None
    app.config["REJECTION_REASONS"] = reasons.codes_from(app.config["REJECTION_REASONS"])
    # the events written to the outbox: none without a webhook to deliver them
    app.config["WEBHOOK_EVENTS"] = events.events_from(app.config["WEBHOOK_EVENTS"]) if app.config["WEBHOOK_URL"] \
        else frozenset()
    if isinstance(app.config["CORAL_SIGNING_SECRETS"], str):
        app.config["CORAL_SIGNING_SECRETS"] = [s for s in app.config["CORAL_SIGNING_SECRETS"].split(",") if s]

    app.json.sort_keys = False
    errors.init_app(app)
    request_logs.init_app(app)
    store = Store(app.config["DATABASE_URL"] or settings.database_url())
    if flag(app.config["AUTO_MIGRATE"]):
        store.upgrade()
    app.extensions["moderation.store"] = store
    app.extensions["moderation.keys"] = KeyVerifier(store)
    holder = ModelHolder(Registry(app.config["MODELS_DIR"] or settings.models_dir()),
                         poll_seconds=float(app.config["MODEL_POLL_SECONDS"]),
                         policy_overrides=app.config["POLICY"])
    holder.load()
    holder.start()
    app.extensions["moderation.model"] = holder
    if flag(app.config["LANGUAGE_DETECTION"]):
        from ..runtime.language import LanguageIdentifier

        languages = holder.scorer.artifact.metadata.get("languages", ["en"]) if holder.scorer else ["en"]
        app.extensions["moderation.language"] = LanguageIdentifier(languages)

    app.extensions["moderation.threads"] = ThreadMemory(
        store, min(int(app.config["THREAD_MEMORY"]), MAX_THREAD), float(app.config["THREAD_REFRESH_SECONDS"]),
        float(app.config["THREAD_WRITE_SECONDS"]))
    app.extensions["moderation.articles"] = ArticleCache(store, float(app.config["ARTICLE_CACHE_SECONDS"]))
    app.extensions["moderation.wordlists"] = WordListCache(store, float(app.config["ARTICLE_CACHE_SECONDS"]))
    app.extensions["moderation.service"] = Moderation(
        holder, store, app.extensions.get("moderation.language"), app.extensions["moderation.threads"],
        app.extensions["moderation.articles"], app.config["AUTHOR_POLICY"], app.extensions["moderation.wordlists"],
        app.config["WEBHOOK_EVENTS"])

    if app.config["WEBHOOK_URL"]:
        from ..review.webhooks import Dispatcher

        dispatcher = Dispatcher(store, app.config["WEBHOOK_URL"], app.config["WEBHOOK_SECRET"],
                                float(app.config["WEBHOOK_TIMEOUT"]), float(app.config["WEBHOOK_POLL_SECONDS"]))
        if float(app.config["WEBHOOK_POLL_SECONDS"]) > 0:
            dispatcher.start()
        app.extensions["moderation.webhooks"] = dispatcher

    from .api import limits, register_blueprints

    limits.init_app(app)
    register_blueprints(app)
    return app


def shutdown(app: Flask) -> None:
    """Stop an app's background threads, write what they hold and close its database connections.

    A server's worker does this by exiting; tests and tools that create apps in a process that goes on call it.
    """
    app.extensions["moderation.model"].stop()
    if "moderation.webhooks" in app.extensions:
        app.extensions["moderation.webhooks"].stop()
    if "moderation.threads" in app.extensions:
        app.extensions["moderation.threads"].close()
    app.extensions["moderation.store"].dispose()

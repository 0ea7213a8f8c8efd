"""The web layer: the Flask app factory, problem responses, request logs, the API blueprints and the review UI."""

__all__ = ["create_app", "shutdown"]


def __getattr__(name: str):
    # Imported on first use: gunicorn's master process loads web.request_log for its log lines, and must not
    # load the app's libraries before its workers fork.
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

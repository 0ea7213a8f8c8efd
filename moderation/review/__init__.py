"""The review domain: the queue of held comments and moderators' decisions, authors' histories, users, exports,
retention, webhooks."""
from . import authors, export, login_throttle, queue, reasons, retention, users, webhooks

__all__ = ["authors", "export", "login_throttle", "queue", "reasons", "retention", "users", "webhooks"]

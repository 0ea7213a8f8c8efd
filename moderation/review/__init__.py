"""The review domain: the queue of held comments and moderators' decisions, users, exports, retention, webhooks."""
from . import export, login_throttle, queue, retention, users, webhooks

__all__ = ["export", "login_throttle", "queue", "retention", "users", "webhooks"]

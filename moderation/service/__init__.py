"""Moderating a batch of comments with their context: thread memory, articles and API keys (no Flask)."""
from .articles import ArticleCache
from .keys import KeyVerifier
from .moderate import Incoming, Moderation, Outcome
from .threads import ThreadMemory

__all__ = ["ArticleCache", "Incoming", "KeyVerifier", "Moderation", "Outcome", "ThreadMemory"]

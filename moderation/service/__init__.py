"""Moderating a batch of comments with their context: thread memory, articles, authors, word lists and API keys
(no Flask)."""
from .articles import ArticleCache
from .authors import AuthorPolicy
from .keys import KeyVerifier
from .moderate import Incoming, Moderation, Outcome
from .threads import ThreadMemory
from .wordlists import WordListCache

__all__ = ["ArticleCache", "AuthorPolicy", "Incoming", "KeyVerifier", "Moderation", "Outcome", "ThreadMemory",
           "WordListCache"]

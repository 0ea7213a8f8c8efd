"""Moderating a batch of comments with their context: thread memory, articles and API keys (no Flask)."""

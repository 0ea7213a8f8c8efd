"""Training and evaluation of moderation models (depends on ``moderation``; never the other way round)."""

"""Self-hosted comment moderation: scores, decisions and explanations for news comments."""

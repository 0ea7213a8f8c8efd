"""Benchmarks of the moderation model: held-out quality, speed, and functional tests, each against a peer."""

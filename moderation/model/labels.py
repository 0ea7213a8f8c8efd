"""The label set: every label a model may learn, and which of them may reject a comment on their own.

A trained model records the labels it learnt and its thresholds in its metadata; wherever a model is at hand,
its labels are read from there. This module is the set training draws from, and the fallback for data
without a model (exports of moderators' decisions).
"""
from __future__ import annotations

LABELS = ("toxic", "severe_toxic", "insult", "profanity", "threat", "identity_attack", "off_topic")
# Labels that may auto-reject: high-precision toxicity. Profanity and off-topic alone only ever hold for review.
REJECT_LABELS = ("toxic", "severe_toxic", "insult", "threat", "identity_attack")

"""What a saved model is made of: text normalisation, n-gram vocabularies, the topic space, features, the classifier."""
from importlib import import_module

# Where each public name lives; a module is imported when one of its names is first used, so that reading
# comments (moderation.model.comment) does not import scikit-learn.
_HOMES = {"LabelSkippedWarning": "classifier", "MultiLabelLogistic": "classifier", "MAX_THREAD": "comment",
          "Comment": "comment", "ThreadContext": "comment", "article_text": "comment",
          "CommentFeaturizer": "features", "LABELS": "labels", "REJECT_LABELS": "labels"}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_HOMES[name]}", __name__), name)

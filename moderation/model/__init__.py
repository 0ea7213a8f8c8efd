"""What a saved model is made of: text normalisation, n-gram vocabularies, the topic space, features, the classifier."""
from .._lazy import lazy_attributes

# Where each public name lives; a module is imported when one of its names is first used, so that reading
# comments (moderation.model.comment) does not import scikit-learn.
_HOMES = {"LabelSkippedWarning": "classifier", "MultiLabelLogistic": "classifier", "MAX_THREAD": "comment",
          "Comment": "comment", "ThreadContext": "comment", "article_text": "comment",
          "CommentFeaturizer": "features", "LABELS": "labels", "REJECT_LABELS": "labels"}

__all__ = sorted(_HOMES)

__getattr__ = lazy_attributes(__name__, _HOMES)

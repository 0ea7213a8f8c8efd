"""What a saved model is made of: text normalisation, n-gram vocabularies, the topic space, features, the classifier."""
from .classifier import LabelSkippedWarning, MultiLabelLogistic
from .comment import MAX_THREAD, Comment, ThreadContext, article_text
from .features import CommentFeaturizer
from .labels import LABELS, REJECT_LABELS

__all__ = ["LABELS", "MAX_THREAD", "REJECT_LABELS", "Comment", "CommentFeaturizer", "LabelSkippedWarning",
           "MultiLabelLogistic", "ThreadContext", "article_text"]

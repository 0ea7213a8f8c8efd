"""What a saved model is made of: text normalisation, n-gram vocabularies, the topic space, features, the classifier."""
from .classifier import LabelSkippedWarning, MultiLabelLogistic
from .comment import MAX_THREAD, Comment, article_text
from .features import CommentFeaturizer

__all__ = ["MAX_THREAD", "Comment", "CommentFeaturizer", "LabelSkippedWarning", "MultiLabelLogistic", "article_text"]

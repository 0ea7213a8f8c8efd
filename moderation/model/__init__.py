"""What a saved model is made of: text normalisation, n-gram vocabularies, features and the classifier."""

"""Language identification, so a comment in a language the model never saw is held instead of mis-scored."""
from __future__ import annotations

import re

from lingua import Language, LanguageDetectorBuilder

# The languages told apart: English and the ones most often posted on English-language news sites.
CANDIDATES = (Language.ENGLISH, Language.FRENCH, Language.GERMAN, Language.SPANISH, Language.PORTUGUESE,
              Language.ITALIAN, Language.DUTCH, Language.POLISH, Language.TURKISH, Language.RUSSIAN,
              Language.ARABIC, Language.CHINESE, Language.HINDI, Language.VIETNAMESE, Language.TAGALOG)
_ENGLISH_WORDS = frozenset(
    "the an and or but is are was were be been to of at for with that this it you we they he she "
    "not no do does did have has had will would can could should my your our their what who why how".split())
_WORD_RE = re.compile(r"[^\W\d_]+")
MIN_LETTERS = 20
MIN_CONFIDENCE = 0.9


class LanguageIdentifier:
    """Detects the language of a comment; short or ambiguous texts count as supported."""

    def __init__(self, supported=("en",)):
        self.supported = frozenset(supported)
        self._detector = LanguageDetectorBuilder.from_languages(*CANDIDATES).with_low_accuracy_mode() \
            .with_preloaded_language_models().build()

    def detect(self, text: str) -> tuple[str | None, float]:
        """(ISO 639-1 code, confidence) of the most likely language, or (None, 0) when it cannot tell."""
        values = self._detector.compute_language_confidence_values(text)
        if not values:
            return None, 0.0
        return values[0].language.iso_code_639_1.name.lower(), float(values[0].value)

    def unsupported(self, text: str) -> str | None:
        """The detected language if it is confidently one the model does not support, else None."""
        words = _WORD_RE.findall(text.lower())
        if sum(map(len, words)) < MIN_LETTERS:
            return None
        if "en" in self.supported and sum(w in _ENGLISH_WORDS for w in words) >= max(2, len(words) // 5):
            return None  # plainly English: skip the detector
        language, confidence = self.detect(text)
        if language is None or language in self.supported or confidence < MIN_CONFIDENCE:
            return None
        return language

"""Where the classes pickled in artifacts written before the layered layout (issue 12) live now.

A pickle names each class by its module: artifacts written before the move name ``moderation.features`` and
its neighbours. While an artifact loads, those old names resolve to the classes' new homes. Kept for one
release (0.1.x): re-save or retrain older models before 0.2.
"""
from __future__ import annotations

import importlib
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager

# old module -> {class name: module it lives in now}
OLD_PATHS = {
    "moderation.classifier": {"MultiLabelLogistic": "moderation.model.classifier"},
    "moderation.features": {"CommentFeaturizer": "moderation.model.features", "TopicSpace": "moderation.model.topics"},
    "moderation.ngrams": {"HashedNgramTfidf": "moderation.model.ngrams"},
}
_lock = threading.Lock()


@contextmanager
def old_module_paths() -> Iterator[None]:
    """Let the old module paths of pickled classes resolve, for as long as the ``with`` block lasts."""
    with _lock:
        added = []
        try:
            for old, names in OLD_PATHS.items():
                if old in sys.modules:
                    continue
                alias = types.ModuleType(old, f"classes once pickled as {old}, while an artifact loads")
                for name, new in names.items():
                    setattr(alias, name, getattr(importlib.import_module(new), name))
                sys.modules[old] = alias
                added.append(old)
            yield
        finally:
            for old in added:
                sys.modules.pop(old, None)

"""Where the service keeps its state when nothing else is configured."""
from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """``$MODERATION_HOME``, or ``./instance``: models, the SQLite database and keys live here."""
    return Path(os.environ.get("MODERATION_HOME") or Path.cwd() / "instance")


def models_dir() -> Path:
    """``$MODERATION_MODELS_DIR``, or ``models`` under :func:`home`."""
    return Path(os.environ.get("MODERATION_MODELS_DIR") or home() / "models")


def database_url() -> str:
    """``$MODERATION_DATABASE_URL``, or a SQLite file under :func:`home` (the embedded default)."""
    return os.environ.get("MODERATION_DATABASE_URL") or f"sqlite:///{home() / 'moderation.db'}"

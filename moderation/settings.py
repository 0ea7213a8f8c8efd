"""Where the service keeps its state when nothing else is configured, and how on/off settings are read."""
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


# The environment variables that size the thread pools of numeric libraries (BLAS, OpenMP and the like): a
# process that shares the machine's cores with others sets them to its share.
THREAD_POOL_SETTINGS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                        "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS", "NUMEXPR_NUM_THREADS")

_OFF = ("0", "false", "no", "off")


def flag(value, default: bool = True) -> bool:
    """An on/off setting, from the environment or the app's configuration: off when it is 0, false, no or off
    (any case), ``default`` when it is unset or blank, on otherwise."""
    if value is None:
        return default
    if isinstance(value, str):
        value = value.strip().lower()
        return value not in _OFF if value else default
    return bool(value)


def env_flag(name: str, default: bool = True) -> bool:
    """:func:`flag` of the environment variable ``name``."""
    return flag(os.environ.get(name), default)


def names(setting) -> list[str]:
    """A list setting: a list, or a comma-separated string (as the environment gives it); each entry stripped,
    blank ones dropped."""
    values = setting.split(",") if isinstance(setting, str) else list(setting or [])
    return [str(value).strip() for value in values if str(value).strip()]

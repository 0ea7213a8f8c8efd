"""Package attributes imported on first use (PEP 562): importing a package does not import its heavy modules."""
from __future__ import annotations

from importlib import import_module


def lazy_attributes(package: str, homes: dict[str, str]):
    """A module ``__getattr__`` for ``package`` that imports the submodule ``homes[name]`` when ``name`` is first read."""

    def __getattr__(name: str):
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f".{homes[name]}", package), name)

    return __getattr__

"""What the commands share: one-line input errors, progress bars, the model registry, the store."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import settings
from ..runtime.artifact import Artifact, Registry, load


class InputError(click.ClickException):
    """Bad input: printed as one line naming the file or line, exit status 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"error: {self.format_message()}", err=True)


def progress(description: str, unit: str):
    """A progress bar on a terminal's stderr (none when stderr is not a terminal, or without tqdm, from [train])."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoProgress()
    return tqdm(desc=description, unit=unit, file=sys.stderr, disable=None, mininterval=1)


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def registry_option(function):
    return click.option("--models", "models_dir", type=click.Path(file_okay=False, path_type=Path),
                        default=None, help="Model registry directory (default: $MODERATION_HOME/models).")(function)


def open_registry(models_dir: Path | None) -> Registry:
    return Registry(models_dir or settings.models_dir())


def resolve_model(model: Path | None, models_dir: Path | None = None) -> Artifact:
    """A version directory, a registry directory (its current version), or the default registry's current."""
    return load(resolve_model_dir(model, models_dir))


def resolve_model_dir(model: Path | None, models_dir: Path | None = None) -> Path:
    """The version directory :func:`resolve_model` loads, not loaded."""
    if model is None:
        return open_registry(models_dir).current_path()
    if (model / "metadata.json").exists():
        return model
    if model.is_dir():
        return Registry(model).current_path()
    raise InputError(f"{model}: no such model directory")


def open_store():
    from ..store import Store

    store = Store(settings.database_url())
    store.upgrade()
    return store

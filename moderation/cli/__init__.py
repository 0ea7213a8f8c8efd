"""The ``moderation`` command line: score files, manage model versions, keys, users and the store.

Training commands live in the ``training`` package and join this group through the ``moderation.cli``
entry-point group, so the service never imports training code.
"""
from __future__ import annotations

from importlib.metadata import entry_points

import click

from ..errors import ModerationError
from . import keys, maintenance, models, score, serve, users
from .common import InputError

__all__ = ["cli", "main"]


class Group(click.Group):
    """A click group that turns the service's own errors into one-line messages instead of tracebacks, and loads
    the plugins' commands only when a command is not its own (training's import scikit-learn's estimators)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ModerationError as error:
            raise InputError(str(error)) from None

    def get_command(self, ctx, name):
        if name not in self.commands:
            _load_plugins()
        return super().get_command(ctx, name)

    def list_commands(self, ctx):
        _load_plugins()
        return super().list_commands(ctx)


@click.group(cls=Group)
@click.version_option(package_name="comment-moderation")
def cli():
    """Self-hosted comment moderation: toxicity and off-topic scores, decisions, review."""


for command in (score.score, models.models, keys.keys, users.users, maintenance.db, maintenance.review,
                maintenance.purge, maintenance.wordlists, serve.serve):
    cli.add_command(command)


def _load_plugins() -> None:
    for entry in entry_points(group="moderation.cli"):
        if entry.name in cli.commands:
            continue
        try:
            command = entry.load()
        except ImportError as error:  # its extra is not installed: training's needs [train]
            command = _needs_extra(entry.name, error.name)
        cli.add_command(command, entry.name)


def _needs_extra(name: str, missing: str | None) -> click.Command:
    """A command that says which package its plugin lacks, in place of one that cannot load."""
    def refuse(args):
        raise InputError(f"'moderation {name}' needs {missing}, which is not installed: "
                         "pip install 'comment-moderation[train]'")

    return click.Command(name, callback=refuse, params=[click.Argument(["args"], nargs=-1)],
                         help=f"(not installed: needs {missing}, from the [train] extra)", add_help_option=False,
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit status when called from tests with ``standalone_mode``."""
    return cli.main(args=argv, prog_name="moderation")

"""``moderation users``: create, list and disable the review UI's users, and set their passwords."""
from __future__ import annotations

import sys

import click

from ..review import users as accounts
from .common import open_store


def _read_password() -> str:
    """A hidden prompt with confirmation on a terminal; otherwise the first line of stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return (sys.stdin.readline() if sys.stdin is not None else "").rstrip("\r\n")


@click.group()
def users():
    """Manage the moderators and admins who log in to the review UI."""


@users.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(accounts.ROLES), default=accounts.MODERATOR, show_default=True,
              help="Admins also see everyone's decisions in the audit view.")
def users_create(name, role):
    """Create user NAME; the password is prompted for (or read from stdin's first line)."""
    info = accounts.create(open_store(), name, _read_password(), role)
    click.echo(f"created {info.role} {info.name}")


@users.command("list")
def users_list():
    """List users with their role and state (never their passwords)."""
    for info in accounts.list_users(open_store()):
        state = "disabled" if info.disabled else "active"
        click.echo(f"{info.name:<24} {info.role:<10} {state:<9} created {info.created_at:%Y-%m-%d %H:%M}")


@users.command("disable")
@click.argument("name")
def users_disable(name):
    """Disable user NAME: no more logins, and open sessions end."""
    info = accounts.disable(open_store(), name)
    click.echo(f"disabled {info.name}")


@users.command("password")
@click.argument("name")
def users_password(name):
    """Set a new password for user NAME (prompted for, or read from stdin's first line)."""
    info = accounts.set_password(open_store(), name, _read_password())
    click.echo(f"password changed for {info.name}; their open sessions have ended")

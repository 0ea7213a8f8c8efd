"""``moderation keys``: create, list and revoke API keys."""
from __future__ import annotations

import click

from .common import open_store


@click.group()
def keys():
    """Create, list and revoke API keys."""


@keys.command("create")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option("--scopes", default="score", show_default=True, help="Comma-separated: score, review, admin.")
def keys_create(name, scopes):
    """Create a key and print it once (only its hash is stored)."""
    from ..service import keys as api_keys

    secret, info = api_keys.create(open_store(), name, [s.strip() for s in scopes.split(",") if s.strip()])
    click.echo(secret)
    click.echo(f"key {info.id} ({info.name}, scopes {','.join(info.scopes)}): store it now, it is not shown again",
               err=True)


@keys.command("list")
def keys_list():
    """List keys (never their secrets)."""
    from ..service import keys as api_keys

    for info in api_keys.list_keys(open_store()):
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        click.echo(f"{info.id:>4}  mk_{info.prefix}_…  {info.name:<24} {','.join(info.scopes):<20} "
                   f"created {info.created_at:%Y-%m-%d %H:%M}  {state}")


@keys.command("revoke")
@click.argument("key")
def keys_revoke(key):
    """Revoke a key by its id or prefix; requests with it are refused within seconds."""
    from ..service import keys as api_keys

    info = api_keys.revoke(open_store(), key.removeprefix("mk_").split("_")[0])
    click.echo(f"revoked key {info.id} ({info.name})")

"""``moderation models``: list, promote and roll back model versions."""
from __future__ import annotations

import json

import click

from .common import open_registry, registry_option


@click.group()
def models():
    """List, promote and roll back model versions."""


@models.command("list")
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON.")
def models_list(models_dir, as_json):
    """List model versions, oldest first; the current one is marked with *."""
    registry = open_registry(models_dir)
    current = registry.current()
    versions = registry.versions()
    if as_json:
        click.echo(json.dumps({"current": current, "versions": versions}, indent=2))
        return
    if not versions:
        click.echo(f"no models in {registry.root}; train one with `moderation train`")
    for meta in versions:
        mark = "*" if meta["version"] == current else " "
        if "error" in meta:
            click.echo(f"{mark} {meta['version']}  UNREADABLE: {meta['error']}")
            continue
        label = next(iter(meta.get("labels", [])), "?")  # the model's first label: toxic, where it learnt it
        auc = (meta.get("metrics", {}).get(label) or {}).get("roc_auc")
        click.echo(f"{mark} {meta['version']}  created {meta.get('created', '?')}  labels {len(meta.get('labels', []))}"
                   f"  {label} ROC-AUC {auc}  rows {meta.get('training', {}).get('rows', '?')}")


@models.command()
@registry_option
@click.argument("version")
def promote(models_dir, version):
    """Verify VERSION and make it the current model; running services switch to it."""
    meta = open_registry(models_dir).promote(version)
    click.echo(f"current model: {meta['version']}")


@models.command()
@registry_option
def rollback(models_dir):
    """Make the previously promoted version current again."""
    meta = open_registry(models_dir).rollback()
    click.echo(f"current model: {meta['version']}")

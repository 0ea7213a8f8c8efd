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
    """List model versions, oldest first; the current one is marked with *, with the labels that do not decide."""
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
        auc = (meta.get("metrics", {}).get("toxic") or {}).get("roc_auc")
        click.echo(f"{mark} {meta['version']}  created {meta.get('created', '?')}  labels {len(meta.get('labels', []))}"
                   f"  toxic ROC-AUC {auc}  rows {meta.get('training', {}).get('rows', '?')}")
        for line in not_deciding(meta):
            click.echo(f"    {line}")


def not_deciding(meta: dict) -> list[str]:
    """One line per label that does not decide, saying why (models trained before labels could stop deciding
    have none)."""
    basis = meta.get("threshold_basis", {})
    return [f"{label} only flags, never holds or rejects: {basis.get(label, {}).get('why', 'too few positives')}"
            for label, limits in meta.get("thresholds", {}).items() if limits.get("decides") is False]


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

"""``moderation models``: list, promote and roll back model versions."""
from __future__ import annotations

import json

import click

from ..runtime.artifact import ArtifactError
from .common import open_registry, registry_option


@click.group()
def models():
    """List, promote and roll back model versions."""


@models.command("list")
@registry_option
@click.option("--json", "as_json", is_flag=True, help="Print the metadata and promotion history as JSON.")
def models_list(models_dir, as_json):
    """List model versions, oldest first (the current one is marked with *, with the labels that do not decide),
    then the promotion history."""
    registry = open_registry(models_dir)
    current = registry.current()
    versions = registry.versions()
    history = registry.history()
    try:
        rollback_to = registry.rollback_target()
    except ArtifactError:
        rollback_to = None
    if as_json:
        click.echo(json.dumps({"current": current, "versions": versions, "history": history,
                               "rollback_to": rollback_to}, indent=2))
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
                   f"  {label} ROC-AUC {'-' if auc is None else auc}  rows {meta.get('training', {}).get('rows', '?')}")
        for line in not_deciding(meta):
            click.echo(f"    {line}")
    if history:
        click.echo("history, oldest first:")
    for number, entry in enumerate(history, start=1):
        now = "  (current)" if number == len(history) and entry["version"] == current else ""
        click.echo(f"  {entry['at']}  {entry['action']:<8}  {entry['version']}{now}")
    if current is not None:
        click.echo(f"`moderation models rollback` makes {rollback_to} current" if rollback_to else
                   "nothing to roll back to: promote a version to switch")


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
    """Undo the last promotion: the version promoted before the current one becomes current again.

    Repeated, it walks back along the promotion history to the first promotion; `promote` jumps anywhere."""
    meta = open_registry(models_dir).rollback()
    click.echo(f"current model: {meta['version']}")

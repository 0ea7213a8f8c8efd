"""HTTP API blueprints, one module per area."""
from __future__ import annotations

from flask import Flask

__all__ = ["register_blueprints"]


def register_blueprints(app: Flask) -> None:
    from . import articles, authors, comments, coral, docs, health, metrics, moderate, perspective, wordlists
    from ..review_ui import views as review_ui

    for module in (health, moderate, articles, authors, comments, wordlists, coral, perspective, metrics, docs,
                   review_ui):
        module.init_app(app)

"""HTTP API blueprints, one module per area."""
from __future__ import annotations

from flask import Flask

__all__ = ["register_blueprints"]


def register_blueprints(app: Flask) -> None:
    from . import articles, comments, coral, docs, health, metrics, moderate, perspective
    from ..review_ui import views as review_ui

    for module in (health, moderate, articles, comments, coral, perspective, metrics, docs, review_ui):
        module.init_app(app)

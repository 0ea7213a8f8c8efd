"""HTTP API blueprints, one module per area."""
from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from . import articles, comments, health, moderate

    for module in (health, moderate, articles, comments):
        module.init_app(app)

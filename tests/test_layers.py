"""Dependencies point one way: each layer imports only the layers below it, and the service never imports training.

The imports are read from the source (every ``import`` statement, those inside functions included), so a lazy
import cannot hide an upward dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Top to bottom: a module may import its own package and anything listed below it. Packages on one line
# are independent: neither imports the other. The last line is the foundation every layer may use.
LAYERS = (
    ("moderation.cli", "moderation.gunicorn_conf"),
    ("moderation.server",),
    ("moderation.web", "moderation.bulk"),
    ("moderation.service",),
    ("moderation.review",),
    ("moderation.runtime", "moderation.store"),
    ("moderation.model",),
    ("moderation.errors", "moderation.files", "moderation.settings", "moderation._lazy"),
)
# Libraries a layer must not use: the domain and the model know nothing of Flask; the model layers know no SQL.
FORBIDDEN_LIBRARIES = {
    "moderation.bulk": ("flask", "werkzeug", "sqlalchemy", "alembic"),
    "moderation.service": ("flask", "werkzeug"),
    "moderation.review": ("flask", "werkzeug"),
    "moderation.runtime": ("flask", "werkzeug", "sqlalchemy", "alembic"),
    "moderation.model": ("flask", "werkzeug", "sqlalchemy", "alembic"),
    "moderation.errors": ("flask", "werkzeug"),
    "moderation.files": ("flask", "werkzeug", "sqlalchemy"),
    "moderation.settings": ("flask", "werkzeug", "sqlalchemy"),
}
# Training builds models from the model and runtime layers; only its CLI commands, which join the service's
# command line, reach further (the store, the review export).
TRAINING_MAY_IMPORT = ("moderation.model", "moderation.runtime", "moderation.errors", "moderation.files",
                       "moderation.settings")
TRAINING_CLI = "training.cli"


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(root: Path, path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in a file, relative ones resolved, ``from x import y`` as ``x.y``."""
    name = module_name(root, path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def owner(module: str, packages) -> str | None:
    """The package of ``packages`` that ``module`` belongs to."""
    return next((p for p in packages if module == p or module.startswith(p + ".")), None)


def violations(root: Path) -> list[str]:
    """Every import under ``root`` (a directory holding ``moderation`` and maybe ``training``) that breaks a rule."""
    rank = {package: level for level, line in enumerate(LAYERS) for package in line}
    found = []
    for path in sorted(root.glob("moderation/**/*.py")) + sorted(root.glob("training/**/*.py")):
        source = module_name(root, path)
        here = owner(source, rank)
        for line, target in imports(root, path):
            where = f"{path.relative_to(root)}:{line}: {source} imports {target}"
            top = target.split(".")[0]
            if source.startswith("training"):
                if top == "moderation" and not (source.startswith(TRAINING_CLI)
                                                or owner(target, TRAINING_MAY_IMPORT)):
                    found.append(f"{where} (training uses only {', '.join(TRAINING_MAY_IMPORT)})")
                continue
            if top == "training":
                found.append(f"{where} (the service never imports training)")
                continue
            if top in FORBIDDEN_LIBRARIES.get(here, ()):
                found.append(f"{where} ({here} does not use {top})")
            if top != "moderation" or target == "moderation":
                continue
            there = owner(target, rank)
            if here is None or there is None:
                unplaced = source if here is None else target
                found.append(f"{where} ({unplaced} is in no layer: add it to LAYERS)")
            elif there != here and rank[there] <= rank[here]:
                found.append(f"{where} ({here} may not import {'its sibling' if rank[there] == rank[here] else 'the layer above'} {there})")
    return found


def test_dependencies_point_down():
    assert violations(REPO) == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("path, source, reason", [
    ("moderation/model/features.py", "from ..runtime.scorer import Scorer\n", "the layer above moderation.runtime"),
    ("moderation/runtime/scorer.py", "def f():\n    from moderation.web import app\n", "the layer above moderation.web"),
    ("moderation/store/models.py", "from ..runtime import artifact\n", "its sibling moderation.runtime"),
    ("moderation/service/moderate.py", "from flask import g\n", "does not use flask"),
    ("moderation/runtime/holder.py", "import sqlalchemy\n", "does not use sqlalchemy"),
    ("moderation/cli/score.py", "from training.train import train\n", "never imports training"),
    ("moderation/extra.py", "from .model import text\n", "moderation.extra is in no layer"),
    ("training/train.py", "from moderation.web.app import create_app\n", "training uses only"),
])
def test_a_forbidden_import_fails_the_check(tmp_path, path, source, reason):
    root = _tree(tmp_path, {"moderation/__init__.py": "", path: source})
    (found,) = violations(root)
    assert reason in found and path in found


def test_allowed_imports_pass_the_check(tmp_path):
    root = _tree(tmp_path, {
        "moderation/__init__.py": "",
        "moderation/web/app.py": "from ..service.moderate import Moderation\nfrom . import request_log\nimport flask\n",
        "moderation/service/moderate.py": "from ..runtime.scorer import Scorer\nfrom ..errors import Unavailable\n",
        "moderation/runtime/scorer.py": "from ..model.features import CommentFeaturizer\n",
        "training/cli.py": "from moderation.cli.common import open_store\n",
        "training/train.py": "from moderation.model.features import CommentFeaturizer\n",
    })
    assert violations(root) == []

"""The service and bulk scoring need nothing from the [train] extra (pandas, matplotlib, tqdm); training says so."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.subprocess

TRAIN_EXTRA = ("pandas", "matplotlib", "tqdm")
# As if the extra were not installed: importing any of its packages fails.
WITHOUT_TRAIN_EXTRA = f"import sys\nfor name in {TRAIN_EXTRA!r}:\n    sys.modules[name] = None\n"


def run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_TRAIN_EXTRA + code, *args], capture_output=True, text=True,
                          timeout=120)


def test_the_service_answers_without_the_train_extra(tiny_registry, tmp_path):
    done = run(f"""
from moderation.service import keys
from moderation.web import create_app, shutdown
app = create_app({{"DATABASE_URL": "sqlite:///{tmp_path / 'service.db'}", "MODELS_DIR": "{tiny_registry.root}",
                  "MODEL_POLL_SECONDS": 0, "LANGUAGE_DETECTION": False}})
secret, _ = keys.create(app.extensions["moderation.store"], "test", ["score"])
response = app.test_client().post("/v1/moderate", json={{"comment": {{"id": "1", "text": "You are an idiot."}}}},
                                  headers={{"X-API-Key": secret}})
shutdown(app)
print(response.status_code, sorted(response.get_json()["results"][0]["scores"]))
""")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[-2] == "200 ['insult', 'off_topic', 'toxic']"


def test_bulk_scoring_runs_without_the_train_extra(tiny_registry, tmp_path):
    comments = tmp_path / "comments.jsonl"
    comments.write_text('{"id": "1", "text": "You are an idiot."}\n', encoding="utf-8")
    done = run("from moderation.cli import main\nmain()", "score", "--model", str(tiny_registry.root), str(comments))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["id"] == "1"


def test_training_commands_say_which_extra_they_need():
    done = run("from moderation.cli import main\nmain()", "train", "--data", "x.jsonl")
    assert done.returncode == 2
    assert "'moderation train' needs pandas" in done.stderr and "comment-moderation[train]" in done.stderr
    listed = run("from moderation.cli import main\nmain()", "--help")
    assert listed.returncode == 0 and "train" in listed.stdout

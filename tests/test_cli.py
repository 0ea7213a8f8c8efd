"""The CLI contract: output shape, errors as one line naming the file or line, non-zero exit, no traceback."""
import json
import re

import pytest

LABELS = {"toxic", "insult", "off_topic"}


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_score_writes_one_json_object_per_comment(cli, tiny_registry, tmp_path):
    comments = _write(tmp_path / "in.jsonl", [
        json.dumps({"id": "a", "text": "You pathetic idiot, shut up."}),
        json.dumps({"id": 7, "text": "Glad the bridge deck is repaired at last."}),
    ])
    out, _ = cli("score", "--model", str(tiny_registry.root), str(comments))
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["a", 7]
    for row in rows:
        assert set(row) >= {"id", "scores", "flags", "decision", "model_version"}
        assert set(row["scores"]) == LABELS
        assert row["decision"] in ("approve", "review", "reject")
        assert row["model_version"] == tiny_registry.current()
    assert rows[0]["scores"]["toxic"] > rows[1]["scores"]["toxic"]


def test_score_with_an_article_file_scores_off_topic_against_it(cli, tiny_registry, tmp_path):
    article = tmp_path / "article.txt"
    article.write_text("Old bridge reopens after repairs\nThe river bridge on Mill Road reopens Monday.\n")
    comments = _write(tmp_path / "in.jsonl", [
        json.dumps({"id": 1, "text": "The bridge deck repairs on Mill Road took long."}),
        json.dumps({"id": 2, "text": "Best crypto signals, join my channel for free profits!"}),
    ])
    out, _ = cli("score", "--model", str(tiny_registry.root), "--article", str(article), str(comments))
    first, second = (json.loads(line) for line in out.splitlines())
    assert second["scores"]["off_topic"] > first["scores"]["off_topic"]


def test_score_reads_stdin_and_explains(cli, tiny_registry, tmp_path, monkeypatch):
    import io
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps({"id": 1, "text": "You clueless idiot."}) + "\n"))
    out, _ = cli("score", "--model", str(tiny_registry.root), "--explain")
    row = json.loads(out)
    assert all({"label", "begin", "end", "score"} <= set(s) for s in row["spans"])


@pytest.mark.parametrize("line, message", [
    ("{not json", "in.jsonl:2: invalid JSON"),
    (json.dumps({"id": 3, "text": "   "}), "in.jsonl:2: 'text' must be a non-empty string"),
    (json.dumps({"id": 3}), "in.jsonl:2: 'text' must be a non-empty string"),
    (json.dumps([1, 2]), "in.jsonl:2: expected a JSON object"),
])
def test_bad_line_stops_with_one_line_naming_it(cli, tiny_registry, tmp_path, line, message):
    path = _write(tmp_path / "in.jsonl", [json.dumps({"id": 1, "text": "fine"}), line])
    out, err = cli("score", "--model", str(tiny_registry.root), str(path), expect=2)
    assert message in err and len(err.strip().splitlines()) == 1


def test_skip_invalid_reports_and_keeps_going(cli, tiny_registry, tmp_path):
    path = _write(tmp_path / "in.jsonl", ["{bad", json.dumps({"id": 2, "text": "the bridge is fine"})])
    out, err = cli("score", "--model", str(tiny_registry.root), "--skip-invalid", str(path))
    assert [json.loads(line)["id"] for line in out.splitlines()] == [2]
    assert "in.jsonl:1" in err


def test_non_utf8_input_is_an_error(cli, tiny_registry, tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"id": 1, "text": "caf\xe9"}\n')
    _, err = cli("score", "--model", str(tiny_registry.root), str(path), expect=2)
    assert "not valid UTF-8" in err


def test_missing_files_and_models(cli, tiny_registry, tmp_path):
    _, err = cli("score", "--model", str(tiny_registry.root), str(tmp_path / "nope.jsonl"), expect=2)
    assert "nope.jsonl" in err
    _, err = cli("score", "--model", str(tmp_path / "no-model"), str(tmp_path / "x"), expect=2)
    assert "no-model" in err
    _, err = cli("train", "--data", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "m"), expect=2)
    assert "missing.csv" in err


def test_unknown_format_is_refused(cli, tmp_path):
    _, err = cli("train", "--data", "x.csv", "--format", "reddit", expect=2)
    assert "reddit" in err


def test_train_prints_version_and_metrics_then_models_commands(cli, tiny_corpus, tmp_path):
    models = tmp_path / "models"
    comments, articles = tiny_corpus
    data = tmp_path / "more.jsonl"
    lines = comments.read_text().splitlines() * 3
    data.write_text("".join(json.dumps({**json.loads(l), "id": f"{i}", "article_id": f"art{i % 9}"}) + "\n"
                            for i, l in enumerate(lines)))
    out, _ = cli("train", "--data", str(data), "--out", str(models))
    assert "model version:" in out and "ROC-AUC" in out and "promoted" in out
    assert re.search(r"thresholds chosen on \d+ training rows scored out of fold \(5 article folds\)", out)
    first = out.split("model version: ")[1].split()[0]
    out, _ = cli("train", "--data", str(data), "--out", str(models), "--seed", "1")
    second = out.split("model version: ")[1].split()[0]
    out, _ = cli("models", "list", "--models", str(models))
    assert f"* {second}" in out and first in out
    # Some fifty comments: no label has the 30 positives it needs to decide, and each says so in both listings.
    for label in LABELS:
        assert re.search(rf"^    {label} only flags, never holds or rejects: \d+ positives, fewer than the 30 a "
                         r"threshold needs$", out, re.MULTILINE)
    listed = json.loads(cli("models", "list", "--models", str(models), "--json")[0])["versions"]
    assert all(limits["decides"] is False for meta in listed for limits in meta["thresholds"].values())
    scored, _ = cli("score", "--model", str(models), str(_write(tmp_path / "in.jsonl", [
        json.dumps({"id": "a", "text": "You pathetic idiot, shut up, you clueless moron."})])))
    assert json.loads(scored)["decision"] == "approve" and json.loads(scored)["reasons"] == []
    out, _ = cli("models", "rollback", "--models", str(models))
    assert first in out
    out, _ = cli("models", "promote", second, "--models", str(models))
    assert second in out
    _, err = cli("models", "promote", "nope", "--models", str(models), expect=2)
    assert "nope" in err


def test_import_converts_a_corpus_to_the_schema(cli, tmp_path):
    source = tmp_path / "train.csv"
    source.write_text("id,comment_text,toxic,severe_toxic,obscene,threat,insult,identity_hate\n"
                      "x1,what a lovely park,0,0,0,0,0,0\nx2,you utter fool,1,0,0,0,1,0\n")
    out, _ = cli("import", "--format", "jigsaw", str(source))
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[1]["insult"] == 1 and rows[1]["off_topic"] is None and rows[0]["text"] == "what a lovely park"


def test_evaluate_writes_json_and_html_reports(cli, tiny_registry, tiny_corpus, tmp_path):
    comments, articles = tiny_corpus
    report_dir = tmp_path / "report"
    out, _ = cli("evaluate", "--model", str(tiny_registry.root), "--data", str(comments), "--articles", str(articles),
                 "--report", str(report_dir))
    assert "ROC-AUC" in out and "report.html" in out
    report = json.loads((report_dir / "report.json").read_text())
    assert report["model_version"] == tiny_registry.current() and report["rows"] == 18
    assert set(report["metrics"]) == LABELS
    for entry in report["metrics"].values():
        assert 0.5 <= entry["roc_auc"] <= 1.0 and set(entry["at"]) == {"flag", "review", "reject"}
    page = (report_dir / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and "<table>" in page


def test_evaluate_errors_name_the_file(cli, tiny_registry, tmp_path):
    _, err = cli("evaluate", "--model", str(tiny_registry.root), "--data", str(tmp_path / "none.jsonl"), expect=2)
    assert "none.jsonl" in err


def test_models_rollback_walks_the_history_to_the_first_promotion_then_fails(cli, tiny_registry, tmp_path):
    import shutil

    from moderation.runtime.artifact import Registry, load

    registry = Registry(tmp_path / "models")
    a = tiny_registry.current()
    shutil.copytree(tiny_registry.path(a), registry.path(a))
    artifact = load(registry.path(a))
    metadata = {k: v for k, v in artifact.metadata.items() if k != "version"}
    b, c = (registry.save(artifact.pipeline, metadata).name for _ in range(2))
    models = ("--models", str(registry.root))
    for version in (a, b, c):
        cli("models", "promote", version, *models)
    out, _ = cli("models", "list", *models)
    assert f"* {c}" in out and f"promote   {c}  (current)" in out and f"rollback` makes {b} current" in out
    assert cli("models", "rollback", *models)[0] == f"current model: {b}\n"
    assert cli("models", "rollback", *models)[0] == f"current model: {a}\n"
    _, err = cli("models", "rollback", *models, expect=2)
    assert err.count("\n") == 1 and err.startswith("error: ") and "first promoted version" in err
    out, _ = cli("models", "list", "--json", *models)
    listed = json.loads(out)
    assert listed["current"] == a and listed["rollback_to"] is None
    assert [(e["action"], e["version"]) for e in listed["history"]] == \
        [("promote", a), ("promote", b), ("promote", c), ("rollback", b), ("rollback", a)]


def test_evaluate_report_says_what_could_not_be_measured_instead_of_none(cli, tiny_registry, tmp_path):
    data = _write(tmp_path / "toxic-only.jsonl", [  # insult and off_topic unlabelled; toxic has both classes
        json.dumps({"text": "You pathetic idiot, shut up.", "toxic": 1}),
        json.dumps({"text": "Glad the bridge reopens on Monday.", "toxic": 0}),
        json.dumps({"text": "The library hours are welcome.", "toxic": 0})])
    cli("evaluate", "--model", str(tiny_registry.root), "--data", str(data), "--report", str(tmp_path / "r"))
    page = (tmp_path / "r" / "report.html").read_text()
    assert "None" not in page
    assert "<td>insult</td><td>0</td><td>0</td><td>–</td><td>–</td><td>–</td>" in page
    negatives = _write(tmp_path / "negatives.jsonl", [json.dumps({"text": "Glad it reopens.", "toxic": 0})])
    cli("evaluate", "--model", str(tiny_registry.root), "--data", str(negatives), "--report", str(tmp_path / "n"))
    assert "None" not in (tmp_path / "n" / "report.html").read_text()  # and no curve to plot is no warning


def test_evaluate_on_data_without_labels_is_an_error_naming_the_file(cli, tiny_registry, tmp_path):
    data = _write(tmp_path / "unlabelled.jsonl", [json.dumps({"text": "Glad the bridge reopens."}),
                                                  json.dumps({"text": "You idiot.", "toxic": None})])
    out, err = cli("evaluate", "--model", str(tiny_registry.root), "--data", str(data),
                   "--report", str(tmp_path / "r"), expect=2)
    assert out == "" and err.count("\n") == 1 and str(data) in err and "no labels" in err
    assert not (tmp_path / "r").exists()

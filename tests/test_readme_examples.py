"""The README's curl examples, run in order against the default model: each answers as the README shows.

Every ``curl`` in a ``sh`` block is a request; a ``json`` block answers the curl just before it. In a shown
answer ``"…"`` as an object's key or a list's last item stands for what the README leaves out; numbers match
within 0.01 (the README rounds them); model versions and times are compared by shape only.
"""
from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
MORE = "…"
TOLERANCE = 0.01
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)


def _iso_time(value) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except (TypeError, ValueError):
        return False


def _model_version(value) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", value) is not None


def _request_id(value) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{32}", value) is not None


# Values that differ on every run, checked by shape: the README's value and the answer's must both have it.
VOLATILE = {"model_version": _model_version, "request_id": _request_id, "created_at": _iso_time,
            "updated_at": _iso_time, "decided_at": _iso_time, "at": _iso_time}


@dataclass
class Example:
    """One curl request of the README and the answer it shows, if any."""

    line: int
    method: str
    path: str
    headers: dict[str, str]
    body: str | None
    shown: object = None
    shown_line: int | None = None

    @property
    def route(self) -> str:
        return f"{self.method} {self.path.split('?')[0]}"


def curl_commands(block: str) -> list[tuple[int, list[str]]]:
    """(line within the block, argv) of each curl command; a command goes on over ``\\`` and open quotes."""
    commands, pending, start = [], "", 0
    for i, line in enumerate(block.splitlines()):
        if not pending:
            if not line.startswith("curl "):
                continue
            start = i
        pending += line + "\n"
        if line.endswith("\\"):
            continue
        try:
            argv = shlex.split(pending.replace("\\\n", " "), comments=True)
        except ValueError:  # a quote still open: the command goes on
            continue
        commands.append((start, argv))
        pending = ""
    assert not pending, f"an unfinished curl command: {pending!r}"
    return commands


def request_of(argv: list[str]) -> tuple[str, str, dict[str, str], str | None]:
    """Method, path with query, headers and body of a curl command line."""
    method, url, headers, body = None, None, {}, None
    args = iter(argv[1:])
    for arg in args:
        if arg == "-s":
            continue
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg in ("-d", "--data"):
            body = next(args)
        elif not arg.startswith("-") and url is None:
            url = arg
        else:
            raise ValueError(f"this test does not understand the curl argument {arg!r}")
    parts = urlsplit(url if "://" in url else f"http://{url}")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return method or ("POST" if body is not None else "GET"), path, headers, body


def examples(markdown: str) -> list[Example]:
    """The README's curl requests in order, each with the JSON answer shown right after it, if any."""
    found: list[Example] = []
    for match in _FENCE.finditer(markdown):
        language, block = match.groups()
        line = markdown.count("\n", 0, match.start()) + 2  # the block's first line
        if language == "sh":
            found += [Example(line + offset, *request_of(argv)) for offset, argv in curl_commands(block)]
        elif language == "json":
            if not found or found[-1].shown is not None:
                raise AssertionError(f"README line {line}: a JSON block that answers no curl example before it")
            found[-1].shown, found[-1].shown_line = json.loads(block), line
    return found


def differences(shown, actual, where: str = "$") -> list[str]:
    """How ``actual`` differs from what the README shows (empty when it matches)."""
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return [f"{where}: shown an object, answered {actual!r}"]
        keys = [key for key in shown if key != MORE]
        found = [f"{where}.{key}: shown, not answered" for key in keys if key not in actual]
        if MORE not in shown:
            found += [f"{where}.{key}: answered, not shown (add it, or \"{MORE}\": \"{MORE}\")"
                      for key in actual if key not in shown]
        for key in (key for key in keys if key in actual):
            if key in VOLATILE:
                found += _shape_differences(VOLATILE[key], shown[key], actual[key], f"{where}.{key}")
            else:
                found += differences(shown[key], actual[key], f"{where}.{key}")
        return found
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return [f"{where}: shown a list, answered {actual!r}"]
        open_ended = bool(shown) and shown[-1] == MORE
        items = shown[:-1] if open_ended else shown
        if len(actual) < len(items) or not open_ended and len(actual) != len(items):
            return [f"{where}: shown {len(items)}{' or more' if open_ended else ''} items, answered {len(actual)}"]
        return [d for i, item in enumerate(items) for d in differences(item, actual[i], f"{where}[{i}]")]
    if _is_number(shown) and _is_number(actual) and (isinstance(shown, float) or isinstance(actual, float)):
        return [] if abs(shown - actual) <= TOLERANCE else [f"{where}: shown {shown}, answered {actual}"]
    if type(shown) is not type(actual) or shown != actual:
        return [f"{where}: shown {shown!r}, answered {actual!r}"]
    return []


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shape_differences(has_shape, shown, actual, where: str) -> list[str]:
    if shown is None or actual is None:
        return [] if shown is actual else [f"{where}: shown {shown!r}, answered {actual!r}"]
    return [f"{where}: {value!r} ({whose}) is not shaped like a {where.rsplit('.', 1)[-1]}"
            for whose, value in (("shown", shown), ("answered", actual)) if not has_shape(value)]


EXAMPLES = examples(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def answers(default_registry, tmp_path_factory):
    """Every example sent in README order to one app, as a reader following the README would: (status, JSON)."""
    from moderation.service import keys
    from moderation.web.app import create_app, shutdown

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('readme') / 'service.db'}",
                      "MODELS_DIR": str(default_registry.root), "MODEL_POLL_SECONDS": 0, "TESTING": True})
    key, _ = keys.create(app.extensions["moderation.store"], "local-dev", ["score", "review", "admin"])  # `make run`'s
    client = app.test_client()
    answered = []
    for example in EXAMPLES:
        response = client.open(example.path.replace("$KEY", key), method=example.method, data=example.body,
                               headers={name: value.replace("$KEY", key) for name, value in example.headers.items()})
        answered.append((response.status_code, response.mimetype, response.get_json(silent=True)))
    yield answered
    shutdown(app)


@pytest.mark.parametrize("index", range(len(EXAMPLES)), ids=[f"line{e.line}:{e.route}" for e in EXAMPLES])
def test_a_readme_example_answers_as_the_readme_shows(answers, index):
    example, (status, mimetype, body) = EXAMPLES[index], answers[index]
    if mimetype == "application/problem+json":
        assert example.shown is not None, f"README line {example.line}: {example.route} failed: {body}"
        assert body["status"] == status
    else:
        assert 200 <= status < 300, f"README line {example.line}: {example.route} answered {status}: {body}"
    if example.shown is None:
        return
    found = differences(example.shown, body)
    assert not found, (f"README line {example.shown_line} shows another answer to {example.route} (line "
                       f"{example.line}):\n  " + "\n  ".join(found) + "\nThe service answered:\n"
                       + json.dumps(body, ensure_ascii=False))


@pytest.mark.parametrize("route", [
    r"PUT /v1/articles/\S+", r"POST /v1/moderate", r"GET /v1/comments/\S+", r"POST /v1/comments/\S+/decision",
    r"POST /v1alpha1/comments:analyze", r"POST /v1alpha1/comments:suggestscore", r"POST /v1/coral/moderate"])
def test_the_readme_shows_an_answer_for_each_kind_of_request(route):
    assert any(re.fullmatch(route, e.route) and e.shown is not None for e in EXAMPLES), \
        f"the README shows no answer to a {route} example"


def test_the_readme_shows_an_error_answer():
    assert any(isinstance(e.shown, dict) and e.shown.get("type", "").startswith("/problems/") for e in EXAMPLES)


def test_a_readme_example_is_read_as_a_shell_reads_it():
    block = ("moderation keys list\n"
             "curl -s -X PUT localhost:8000/v1/articles/a -H \"Authorization: Bearer $KEY\" \\\n"
             "     -d '{\"title\": \"A\",\n  \"body\": \"It is # not a comment\"}'   # a comment\n"
             "curl -s \"localhost:8000/v1alpha1/comments:analyze?key=$KEY\"\n")
    (first_line, first), (second_line, second) = curl_commands(block)
    assert (first_line, second_line) == (1, 4)
    assert request_of(first) == ("PUT", "/v1/articles/a", {"Authorization": "Bearer $KEY"},
                                 '{"title": "A",\n  "body": "It is # not a comment"}')
    assert request_of(second) == ("GET", "/v1alpha1/comments:analyze?key=$KEY", {}, None)
    with pytest.raises(ValueError, match="--json"):
        request_of(["curl", "--json", "{}", "localhost:8000/v1/moderate"])


def test_a_json_block_that_answers_no_curl_is_refused():
    with pytest.raises(AssertionError, match="line 2"):
        examples('```json\n{"a": 1}\n```\n')


ANSWER = {"model_version": "20261206-220602-b8d4ce", "results": [
    {"id": "c-1", "scores": {"toxic": 0.8559, "off_topic": 0.0005}, "decision": "reject",
     "spans": [{"label": "toxic", "begin": 34, "end": 43, "text": "brainless"},
               {"label": "toxic", "begin": 32, "end": 33, "text": "a"}]}],
    "created_at": "2026-12-06T22:06:04.988924+00:00", "decided_at": None}


@pytest.mark.parametrize("shown", [
    {"model_version": "20261121-235101-102015", "…": "…"},
    {"results": [{"id": "c-1", "scores": {"toxic": 0.86, "…": "…"}, "decision": "reject",
                  "spans": [{"label": "toxic", "begin": 34, "end": 43, "text": "brainless"}, "…"]}], "…": "…"},
    {"results": ["…"], "…": "…"},
    {"created_at": "2026-11-21T23:51:01+00:00", "decided_at": None, "…": "…"},
])
def test_an_answer_matching_what_is_shown_passes(shown):
    assert differences(shown, ANSWER) == []


@pytest.mark.parametrize("shown, difference", [
    ({"model_version": "v1", "…": "…"}, "not shaped like a model_version"),
    ({"created_at": "yesterday", "…": "…"}, "not shaped like a created_at"),
    ({"decided_at": "2026-11-21T23:51:01+00:00", "…": "…"}, "shown '2026-11-21T23:51:01+00:00', answered None"),
    ({"model_version": "20261121-235101-102015"}, "$.results: answered, not shown"),
    ({"results": [{"decision": "approve", "…": "…"}], "…": "…"}, "$.results[0].decision: shown 'approve'"),
    ({"results": [{"scores": {"toxic": 0.84, "…": "…"}, "…": "…"}], "…": "…"}, "shown 0.84, answered 0.8559"),
    ({"results": [{"scores": {"toxic": 0.86}, "…": "…"}], "…": "…"}, "$.results[0].scores.off_topic: answered"),
    ({"results": [{"spans": [{"label": "toxic", "begin": 36, "end": 45, "text": "brainless"}, "…"], "…": "…"}],
      "…": "…"}, "$.results[0].spans[0].begin: shown 36, answered 34"),
    ({"results": [{"spans": [{"label": "toxic", "begin": 34, "end": 43, "text": "brainless"}], "…": "…"}],
      "…": "…"}, "shown 1 items, answered 2"),
    ({"results": [{"flags": [], "…": "…"}], "…": "…"}, "$.results[0].flags: shown, not answered"),
    ({"results": [{"id": 1, "…": "…"}], "…": "…"}, "shown 1, answered 'c-1'"),
])
def test_an_answer_differing_from_what_is_shown_is_reported(shown, difference):
    assert any(difference in found for found in differences(shown, ANSWER)), differences(shown, ANSWER)

"""Request ids and the one JSON log line per request: what it holds, and what it never holds."""
from __future__ import annotations

import json
import logging

import pytest

from moderation.web.request_log import JsonFormatter, request_id_from


def access_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "moderation.access"]


def test_a_sane_request_id_is_echoed_and_used(client):
    response = client.get("/healthz", headers={"X-Request-ID": "req-42 from coral"})
    assert response.headers["X-Request-ID"] == "req-42 from coral"


@pytest.mark.parametrize("sent", ["x" * 129, "tab\there", "naïve-é", " ", "line\nbreak"])
def test_an_insane_request_id_is_replaced(sent):
    generated = request_id_from(sent)
    assert generated != sent and len(generated) == 32


def test_a_request_id_is_made_when_none_is_sent(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first and second and first != second


def test_problem_bodies_carry_the_request_id(client):
    response = client.post("/v1/moderate", json={}, headers={"X-Request-ID": "abc-1"})
    assert response.status_code == 401
    assert response.get_json()["request_id"] == "abc-1" == response.headers["X-Request-ID"]


def test_one_line_per_request_with_method_path_status_duration_and_key_id(client, make_key, caplog):
    key = make_key("score")
    caplog.set_level(logging.INFO, logger="moderation.access")
    response = client.post("/v1/moderate?key=" + key, json={"comment": {"id": 1, "text": "Secret comment text"}},
                           headers={"X-Request-ID": "trace-7"})
    assert response.status_code == 200
    (record,) = access_records(caplog)
    assert (record.method, record.path, record.status, record.request_id) == ("POST", "/v1/moderate", 200, "trace-7")
    assert record.duration_ms >= 0
    assert isinstance(record.api_key_id, int)
    line = JsonFormatter().format(record)
    assert key not in line and "Secret comment text" not in line and "key=" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "INFO" and parsed["path"] == "/v1/moderate" and parsed["api_key_id"] == record.api_key_id


def test_requests_without_a_key_log_no_key_id(client, caplog):
    caplog.set_level(logging.INFO, logger="moderation.access")
    client.get("/no/such/page")
    (record,) = access_records(caplog)
    assert record.status == 404 and record.api_key_id is None
    assert "api_key_id" not in json.loads(JsonFormatter().format(record))


def test_json_formatter_keeps_tracebacks_on_one_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("moderation.test").makeRecord(
            "moderation.test", logging.ERROR, __file__, 1, "failed", (), exc_info=__import__("sys").exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_plain_text_lines_when_json_logs_are_off():
    from moderation.web.request_log import _TextFormatter

    record = logging.getLogger("moderation.access").makeRecord(
        "moderation.access", logging.INFO, __file__, 1, "%s %s %s %s ms", ("GET", "/healthz", 200, 0.4), None,
        extra={"request_id": "r-1"})
    line = _TextFormatter().format(record)
    assert line.endswith("moderation.access: GET /healthz 200 0.4 ms [r-1]")

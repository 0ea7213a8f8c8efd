"""The one JSON-lines reader and the one file digest."""
from __future__ import annotations

import hashlib

import pytest

from moderation.files import json_lines, sha256_file


def test_json_lines_skips_blank_lines_and_numbers_the_rest():
    assert list(json_lines(['{"a": 1}\n', "\n", '{"b": 2}\n'], "x.jsonl")) == [(1, {"a": 1}), (3, {"b": 2})]


@pytest.mark.parametrize("line, message", [("{oops", "x.jsonl:2: invalid JSON"), ("[1]", "x.jsonl:2: expected a JSON object")])
def test_json_lines_names_the_file_and_line_of_a_bad_record(line, message):
    with pytest.raises(ValueError, match=message):
        list(json_lines(['{"a": 1}', line], "x.jsonl"))


def test_sha256_file_digests_the_bytes(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * (3 << 20))
    assert sha256_file(path) == hashlib.sha256(b"x" * (3 << 20)).hexdigest()

"""Files the service and training are given: JSON lines read with errors that name the line, SHA-256 digests, and
lock files that serialise work across processes."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


def json_object(line: str, where: str) -> dict:
    """One JSON-lines record; ValueError naming ``where`` (file and line) when it is not a JSON object."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: invalid JSON ({error.msg})") from None
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object")
    return row


def json_lines(lines: Iterable[str], name: str | Path) -> Iterator[tuple[int, dict]]:
    """(line number, record) of every line that is not blank; ValueError names the file and the line."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield number, json_object(line, f"{name}:{number}")


def sha256_file(path: str | Path) -> str:
    """The SHA-256 hex digest of a file's bytes, read a megabyte at a time."""
    with open(path, "rb") as handle:
        return sha256_stream(handle)


def sha256_stream(stream) -> str:
    """The SHA-256 hex digest of a binary stream read to its end, a megabyte at a time."""
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


@contextmanager
def exclusive_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created when missing) for the ``with`` block, across processes."""
    import fcntl  # POSIX only: imported here so that the rest of this module loads everywhere

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

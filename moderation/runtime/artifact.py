"""Model artifacts and their registry: one fitted pipeline plus a metadata sidecar per version directory.

A registry is a directory of version directories and a ``CURRENT`` file naming the promoted version,
replaced atomically so readers never see a half-written pointer. ``HISTORY`` is an append-only log of
every promotion and rollback (``TIME ACTION VERSION`` a line, also replaced atomically); replayed, it is
a stack of promoted versions that ``rollback`` pops.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import joblib

from ..errors import ModerationError
from ..files import exclusive_lock, sha256_file
from ..model.encoder import EncoderError, check_installed
from ..model.labels import REJECT_LABELS
from ._old_paths import old_module_paths

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
CURRENT_FILE = "CURRENT"
HISTORY_FILE = "HISTORY"
LOCK_FILE = ".lock"
PROMOTE, ROLLBACK = "promote", "rollback"


class ArtifactError(ModerationError):
    """A model artifact is missing, corrupt, tampered with, or was built for other library versions."""

    status, title = 503, "Model unavailable"


def library_versions() -> dict[str, str]:
    """Versions of everything a fitted pipeline's pickle depends on."""
    import nltk
    import numpy
    import scipy
    import sklearn

    return {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "joblib": joblib.__version__,
            "numpy": numpy.__version__, "scipy": scipy.__version__, "nltk": nltk.__version__}


@dataclass
class Artifact:
    """A loaded, verified model: the fitted pipeline and what its metadata says about it."""

    pipeline: object
    metadata: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def version(self) -> str:
        return self.metadata["version"]

    @property
    def labels(self) -> list[str]:
        return list(self.metadata["labels"])

    @property
    def thresholds(self) -> dict[str, dict]:
        return self.metadata["thresholds"]

    @property
    def reject_labels(self) -> tuple[str, ...]:
        """Labels that may reject on their own: as recorded at training, else (older models) the default set."""
        return tuple(self.metadata.get("reject_labels", REJECT_LABELS))


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_version_id(now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    return now.strftime("%Y%m%d-%H%M%S-") + os.urandom(3).hex()


def read_metadata(directory: Path) -> dict:
    path = Path(directory) / METADATA_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path}: no metadata (not a model directory)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{path}: metadata is not valid JSON ({error})") from None


def verify(directory: Path) -> dict:
    """Check an artifact's hash and library versions without unpickling it; return its metadata."""
    directory = Path(directory)
    metadata = read_metadata(directory)
    model_path = directory / MODEL_FILE
    if not model_path.is_file():
        raise ArtifactError(f"{model_path}: model file missing")
    actual = sha256_file(model_path)
    if actual != metadata.get("artifact_sha256"):
        raise ArtifactError(f"{model_path}: sha256 {actual[:12]}… does not match metadata "
                            f"({str(metadata.get('artifact_sha256'))[:12]}…): corrupt or tampered artifact")
    built = metadata.get("library_versions", {}).get("scikit-learn")
    running = library_versions()["scikit-learn"]
    if built != running:
        raise ArtifactError(f"{directory}: model was built with scikit-learn {built}, this process runs {running}; "
                            "retrain it with `moderation train` or install the matching version")
    return metadata


def load(directory: str | Path) -> Artifact:
    """Load and verify a model version directory.

    Parameters
    ----------
    directory : str or Path
        A version directory holding ``model.joblib`` and ``metadata.json``.

    Returns
    -------
    Artifact
        The fitted pipeline with its metadata.

    Raises
    ------
    ArtifactError
        If the files are missing, the hash does not match, scikit-learn's version differs, or the model needs a
        sentence encoder that is switched off or is not the installed one.
    """
    directory = Path(directory)
    metadata = verify(directory)
    if metadata.get("encoder"):
        try:
            check_installed(metadata["encoder"])
        except EncoderError as error:
            raise ArtifactError(f"{directory}: {error}") from None
    try:
        with old_module_paths():
            pipeline = joblib.load(directory / MODEL_FILE)
    except Exception as error:  # a verified hash makes this rare: an unpicklable class, a truncated disk
        raise ArtifactError(f"{directory / MODEL_FILE}: cannot load model ({error})") from None
    return Artifact(pipeline=pipeline, metadata=metadata, path=directory)


def promoted_stack(history: list[dict]) -> list[str]:
    """The versions promoted and not rolled back, oldest first: the last is current, the one before it is
    where ``rollback`` goes."""
    stack: list[str] = []
    for entry in history:
        if entry["action"] == PROMOTE:
            stack.append(entry["version"])
        elif stack:
            stack.pop()
    return stack


class Registry:
    """Model versions under one root directory, with an atomically switched current pointer."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, version: str) -> Path:
        if not version or "/" in version or version.startswith("."):
            raise ArtifactError(f"invalid model version {version!r}")
        return self.root / version

    def versions(self) -> list[dict]:
        """Metadata of every version, oldest first; unreadable directories are reported, not hidden."""
        if not self.root.is_dir():
            return []
        found = []
        for directory in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            try:
                found.append(read_metadata(directory))
            except ArtifactError as error:
                found.append({"version": directory.name, "error": str(error)})
        return sorted(found, key=lambda m: (m.get("created", ""), m["version"]))

    def current(self) -> str | None:
        try:
            return (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def save(self, pipeline, metadata: dict) -> Path:
        """Write a new version directory (never overwriting one) and return its path."""
        self.root.mkdir(parents=True, exist_ok=True)
        version = metadata.get("version") or new_version_id()
        final = self.path(version)
        if final.exists():
            raise ArtifactError(f"{final}: version already exists")
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{version}."))
        try:
            joblib.dump(pipeline, staging / MODEL_FILE, compress=3)
            metadata = {**metadata, "version": version, "library_versions": library_versions(),
                        "artifact_sha256": sha256_file(staging / MODEL_FILE),
                        "artifact_bytes": (staging / MODEL_FILE).stat().st_size}
            metadata.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))
            with open(staging / METADATA_FILE, "w", encoding="utf-8") as handle:
                json.dump(metadata, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final

    def promote(self, version: str) -> dict:
        """Verify a version and make it current; returns its metadata."""
        metadata = verify(self.path(version))
        with self._locked():
            stack = promoted_stack(self.history())
            if not stack or stack[-1] != version:  # promoting the current version again adds nothing to undo
                self._log(PROMOTE, version)
            _write_atomic(self.root / CURRENT_FILE, version + "\n")
        return metadata

    def history(self) -> list[dict]:
        """Every promotion and rollback, oldest first: ``{"at", "action", "version"}``."""
        try:
            lines = (self.root / HISTORY_FILE).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for line in lines:
            parts = line.split()
            if len(parts) == 2:  # written before rollbacks were logged: a promotion
                parts.insert(1, PROMOTE)
            if len(parts) != 3 or parts[1] not in (PROMOTE, ROLLBACK):
                raise ArtifactError(f"{self.root / HISTORY_FILE}: unreadable line {line!r}")
            entries.append({"at": parts[0], "action": parts[1], "version": parts[2]})
        return entries

    def rollback_target(self) -> str:
        """The version ``rollback`` would make current; ArtifactError when there is none."""
        current = self.current()
        if current is None:
            raise ArtifactError(f"{self.root}: no current model to roll back from")
        stack = promoted_stack(self.history())
        if not stack or stack[-1] != current:
            raise ArtifactError(f"{self.root}: {CURRENT_FILE} names {current}, but the promotion history "
                                f"{'ends at ' + stack[-1] if stack else 'is empty'}; promote the version to serve")
        if len(stack) < 2:
            raise ArtifactError(f"{self.root}: {current} is the first promoted version; there is no earlier one "
                                "to roll back to")
        return stack[-2]

    def rollback(self) -> dict:
        """Make the version promoted before the current one current again; returns its metadata."""
        with self._locked():
            version = self.rollback_target()
            metadata = verify(self.path(version))
            self._log(ROLLBACK, version)
            _write_atomic(self.root / CURRENT_FILE, version + "\n")
        return metadata

    def _log(self, action: str, version: str) -> None:
        path = self.root / HISTORY_FILE
        try:
            logged = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            logged = ""
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _write_atomic(path, logged + f"{stamp} {action} {version}\n")

    @contextmanager
    def _locked(self):
        """Serialise promotions and rollbacks across processes (two CLIs at once would lose a log line)."""
        if not self.root.is_dir():
            raise ArtifactError(f"{self.root}: no such model registry")
        with exclusive_lock(self.root / LOCK_FILE):
            yield

    def current_path(self) -> Path:
        """The current version's directory."""
        version = self.current()
        if version is None:
            raise ArtifactError(f"{self.root}: no current model; train one with `moderation train`")
        return self.path(version)

    def load_current(self) -> Artifact:
        return load(self.current_path())

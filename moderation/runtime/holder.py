"""The model a running process serves, switched to a newly promoted version without a restart."""
from __future__ import annotations

import logging
import threading

from ..model.comment import Comment
from .artifact import ArtifactError, Registry
from .scorer import Scorer

log = logging.getLogger(__name__)


class ModelHolder:
    """Holds the current :class:`Scorer`; a background thread watches the registry's ``CURRENT`` pointer.

    Requests take ``holder.scorer`` once and use that object to the end, so a swap never changes the
    model under an in-flight request. A version that fails verification is logged and the old one keeps
    serving.
    """

    def __init__(self, registry: Registry, poll_seconds: float = 2.0, policy_overrides: dict | None = None):
        self.registry = registry
        self.poll_seconds = poll_seconds
        self.policy_overrides = policy_overrides
        self.scorer: Scorer | None = None
        self.error: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self) -> bool:
        """Load the current version if it differs from the served one; True when a new one was loaded."""
        with self._lock:
            version = self.registry.current()
            if version is None:
                self.error = f"no current model in {self.registry.root}"
                return False
            if self.scorer is not None and self.scorer.version == version:
                return False
            try:
                scorer = Scorer(self.registry.load_current(), self.policy_overrides)
            except ArtifactError as error:
                self.error = str(error)
                log.error("model %s not loaded, still serving %s: %s", version,
                          self.scorer.version if self.scorer else "nothing", error)
                return False
            scorer.predict([Comment("warm up", "warm up", ("warm up",))])  # lazy set-up here, not in a request
            previous, self.scorer, self.error = self.scorer, scorer, None
            log.info("serving model %s (was %s)", version, previous.version if previous else "none")
            return True

    def start(self) -> None:
        if self._thread is None and self.poll_seconds > 0:
            self._thread = threading.Thread(target=self._watch, name="model-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.load()
            except Exception:  # the watcher must outlive any one bad poll
                log.exception("model watcher poll failed")

"""What a registry alias points at, held in memory and kept current by polling.

The predictor follows each dataset's ``champion`` model, the generator its ``default``
synthesizer: the same mechanism. A new target is loaded (checksum-verified by the registry)
beside the old one and swapped in with one reference assignment, so work in flight finishes on
what it started with and nothing fails during a switch.

A target that cannot be loaded (a bad signature, a checksum mismatch, an untrusted type, a
missing artifact) leaves the old one serving; ``failures`` says, per dataset, which version failed
and why, and the services' /readyz answers 503 ``degraded`` while the replica serves something
other than what the alias names. The refusal is logged once per version and reason, and the
load is retried at every poll (a restored artifact or a later ``dailyml sign-artifacts`` heals it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from dailyml.errors import ArtifactIntegrityError, NotReadyError
from dailyml.observability import metrics
from dailyml.registry import Registry
from dailyml.tables import ModelVersion

log = logging.getLogger("dailyml.serving")


class Versioned(Protocol):
    @property
    def version_id(self) -> int: ...

    @property
    def version(self) -> int: ...


LoadedT = TypeVar("LoadedT", bound=Versioned)


@dataclass(frozen=True)
class LoadFailure:
    """The version an alias names that this replica could not load, and why."""

    version: int
    version_id: int
    error: str
    refused: bool  # the artifact was refused (signature, checksum, type), not merely unreachable

    def as_dict(self) -> dict[str, Any]:
        """The failure as ``degraded`` reports it: version, error and whether it was refused."""
        # A mapping: one part of the readiness answer, which is assembled as JSON checks.
        return {"version": self.version, "error": self.error, "refused": self.refused}


class AliasFollower(Generic[LoadedT]):
    """Per dataset, the loaded target of ``alias`` on ``kind`` versions.

    ``load`` turns a registered version into the in-memory object; ``what`` names it in
    messages ("champion model", "default synthesizer").
    """

    def __init__(
        self,
        registry: Registry,
        datasets: tuple[str, ...],
        poll_seconds: float,
        *,
        kind: str,
        alias: str,
        what: str,
        load: Callable[[ModelVersion], LoadedT],
    ) -> None:
        self.registry = registry
        self.datasets = datasets
        self.poll_seconds = poll_seconds
        self.kind, self.alias, self.what = kind, alias, what
        self._load = load
        self._loaded: dict[str, LoadedT] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()
        self.last_error: str | None = None
        self.failures: dict[str, LoadFailure] = {}

    def get(self, dataset: str) -> LoadedT:
        """The current target for ``dataset``; NotReadyError (503) when none is loaded yet."""
        loaded = self._loaded.get(dataset)
        if loaded is None:
            raise NotReadyError(f"no {self.what} is loaded for {dataset} yet")
        return loaded

    @property
    def ready(self) -> bool:
        return all(d in self._loaded for d in self.datasets)

    def loaded(self) -> dict[str, int]:
        """The version loaded for each dataset that has one."""
        return {d: x.version for d, x in self._loaded.items()}

    def degraded(self) -> dict[str, dict[str, Any]]:
        """Per dataset whose alias names a version this replica could not load: which and why."""
        return {dataset: failure.as_dict() for dataset, failure in sorted(self.failures.items())}

    def preload(self, mv: ModelVersion) -> LoadedT:
        """Load ``mv`` without serving it (a promote checks its target first)."""
        return self._load(mv)

    def install(self, mv: ModelVersion, loaded: LoadedT) -> None:
        """Serve ``loaded`` (the target of ``mv``) for its dataset now."""
        with self._refresh_lock:
            self._swap(mv, loaded)

    def _swap(self, mv: ModelVersion, loaded: LoadedT) -> None:
        current = self._loaded.get(mv.dataset)
        self._loaded[mv.dataset] = loaded
        self.failures.pop(mv.dataset, None)
        if current is not None and current.version_id == loaded.version_id:
            return
        metrics.record_serving(mv.dataset, self.kind, self.alias, mv.version)
        log.info(
            "%s: %s is version %s (%s)",
            mv.dataset,
            self.what,
            mv.version,
            mv.algorithm,
            extra={"dataset": mv.dataset, "model_version": mv.version, "kind": self.kind, "alias": self.alias},
        )

    def refresh(self) -> None:
        """Load any target that changed since the last look."""
        with self._refresh_lock:
            errors = []
            for dataset in self.datasets:
                mv: ModelVersion | None = None
                try:
                    version_id = self.registry.alias_id(dataset, self.kind, self.alias)
                    current = self._loaded.get(dataset)
                    if version_id is None or (current and current.version_id == version_id):
                        self.failures.pop(dataset, None)
                        continue
                    mv = self.registry.get_by_id(version_id)
                    self._swap(mv, self._load(mv))
                except Exception as exc:  # keep the old target; /readyz reports the error
                    errors.append(f"{dataset}: {exc}")
                    if mv is not None:
                        self._failed(mv, exc)
                    else:
                        log.warning("could not look up the %s %s: %s", dataset, self.what, exc)
            self.last_error = "; ".join(errors) or None

    def _failed(self, mv: ModelVersion, exc: Exception) -> None:
        refused = isinstance(exc, ArtifactIntegrityError)
        failure = LoadFailure(mv.version, mv.id or 0, str(exc), refused)
        previous = self.failures.get(mv.dataset)
        self.failures[mv.dataset] = failure
        metrics.SERVING_LOADS.labels(mv.dataset, self.kind, self.alias, "refused" if refused else "failed").inc()
        if previous == failure:
            return  # said already: the poller retries every few seconds
        serving = self._loaded.get(mv.dataset)
        still = f"; still serving version {serving.version}" if serving else "; nothing is served for it"
        fields = {"dataset": mv.dataset, "model_version": mv.version, "kind": self.kind, "alias": self.alias}
        if refused:
            log.error(
                "refused to load the %s %s version %s: %s%s",
                mv.dataset,
                self.what,
                mv.version,
                exc,
                still,
                extra=fields,
            )
        else:
            log.exception(
                "could not load the %s %s version %s%s", mv.dataset, self.what, mv.version, still, extra=fields
            )

    def wake(self) -> None:
        """Look again now, without waiting for the next poll."""
        self._wake.set()

    def start(self, *, refresh_first: bool = False) -> None:
        """Start polling. ``refresh_first`` loads before returning (otherwise the poller does it,
        and the service answers /healthz meanwhile)."""
        if refresh_first:
            self.refresh()
        self._thread = threading.Thread(target=self._loop, name=f"{self.alias}-poller", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def stop(self) -> None:
        """Stop polling and wait (up to 5 s) for the poller thread to end."""
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)

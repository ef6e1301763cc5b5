"""What a registry alias points at, held in memory and kept current by polling.

The predictor follows each dataset's ``champion`` model, the generator its ``default``
synthesizer: the same mechanism. A new target is loaded (checksum-verified by the registry)
beside the old one and swapped in with one reference assignment, so work in flight finishes on
what it started with and nothing fails during a switch. A target that cannot be loaded leaves
the old one in place; ``last_error`` says why (services show it in /readyz).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from dailyml.errors import NotReadyError
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
        return {d: x.version for d, x in self._loaded.items()}

    def refresh(self) -> None:
        """Load any target that changed since the last look."""
        with self._refresh_lock:
            failed = False
            for dataset in self.datasets:
                try:
                    version_id = self.registry.alias_id(dataset, self.kind, self.alias)
                    current = self._loaded.get(dataset)
                    if version_id is None or (current and current.version_id == version_id):
                        continue
                    mv = self.registry.get_by_id(version_id)
                    self._loaded[dataset] = self._load(mv)
                    metrics.record_serving(dataset, self.kind, self.alias, mv.version)
                    log.info(
                        "%s: %s is version %s (%s)",
                        dataset,
                        self.what,
                        mv.version,
                        mv.algorithm,
                        extra={"dataset": dataset, "model_version": mv.version, "kind": self.kind, "alias": self.alias},
                    )
                    self.last_error = None
                except Exception as exc:  # keep the old target; /readyz reports the error
                    failed = True
                    self.last_error = f"{dataset}: {exc}"
                    metrics.SERVING_LOADS.labels(dataset, self.kind, self.alias, "failed").inc()
                    log.exception("could not load the %s %s", dataset, self.what)
            if not failed:  # a look that went through clears an error of the past (a database outage)
                self.last_error = None

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
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)

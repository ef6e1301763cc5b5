"""The default synthesizers in memory, kept current by polling the registry's ``default`` alias.

A new default is loaded (checksum-verified) beside the old one and swapped in with one
reference assignment: a generation in flight finishes on the synthesizer it started with.
Loading happens in the poller thread, so the service answers /healthz while SDV loads.
"""

from __future__ import annotations

import logging
import threading

from dailyml.errors import NotReadyError
from dailyml.registry import Registry
from dailyml.synth.fitting import DEFAULT, KIND, load
from dailyml.synth.generation import LoadedSynthesizer

log = logging.getLogger("dailyml.generator.synthesizers")


class SynthesizerServer:
    def __init__(self, registry: Registry, datasets: tuple[str, ...], poll_seconds: float) -> None:
        self.registry = registry
        self.datasets = datasets
        self.poll_seconds = poll_seconds
        self._loaded: dict[str, LoadedSynthesizer] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()
        self.last_error: str | None = None

    def get(self, dataset: str) -> LoadedSynthesizer:
        """The default synthesizer of ``dataset``; NotReadyError (503) when none is loaded yet."""
        loaded = self._loaded.get(dataset)
        if loaded is None:
            raise NotReadyError(f"no default synthesizer is loaded for {dataset} yet")
        return loaded

    @property
    def ready(self) -> bool:
        return all(d in self._loaded for d in self.datasets)

    def loaded(self) -> dict[str, int]:
        return {d: s.version for d, s in self._loaded.items()}

    def refresh(self) -> None:
        """Load any default that changed since the last look."""
        with self._refresh_lock:
            for dataset in self.datasets:
                try:
                    version_id = self.registry.alias_id(dataset, KIND, DEFAULT)
                    current = self._loaded.get(dataset)
                    if version_id is None or (current and current.version_id == version_id):
                        continue
                    mv = self.registry.get_by_id(version_id)
                    synthesizer = load(self.registry, mv)
                    self._loaded[dataset] = LoadedSynthesizer(
                        dataset, version_id, mv.version, mv.algorithm, synthesizer
                    )
                    log.info("%s: default synthesizer is version %s (%s)", dataset, mv.version, mv.algorithm)
                    self.last_error = None
                except Exception as exc:  # keep the old one; /readyz reports the error
                    self.last_error = f"{dataset}: {exc}"
                    log.exception("could not load the %s default synthesizer", dataset)

    def wake(self) -> None:
        """Look again now (after a fit changed the default)."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="synthesizer-poller", daemon=True)
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

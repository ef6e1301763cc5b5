"""The champions in memory, kept current by polling the registry's alias.

A new champion is loaded (checksum-verified) beside the old one and swapped in with a single
reference assignment: requests in flight finish on the model they started with, none fail.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from dailyml.errors import NotReadyError
from dailyml.inference import LoadedModel
from dailyml.registry import Registry

log = logging.getLogger("dailyml.predictor.models")


def single_threaded(estimator: Any) -> Any:
    """The estimator with every ``n_jobs`` set to 1 for serving.

    Requests already run in parallel in the threadpool; a forest that also fans each one-row
    predict out to joblib workers pays tens of milliseconds of pool overhead per request.
    """
    params = {name: 1 for name in estimator.get_params() if name.endswith("n_jobs")}
    if params:
        estimator.set_params(**params)
    return estimator


class ModelServer:
    def __init__(self, registry: Registry, datasets: tuple[str, ...], poll_seconds: float) -> None:
        self.registry = registry
        self.datasets = datasets
        self.poll_seconds = poll_seconds
        self._models: dict[str, LoadedModel] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refresh_lock = threading.Lock()
        self.last_error: str | None = None

    def get(self, dataset: str) -> LoadedModel:
        """The current champion of ``dataset``; NotReadyError (503) when none is loaded yet."""
        model = self._models.get(dataset)
        if model is None:
            raise NotReadyError(f"no champion model is loaded for {dataset} yet")
        return model

    @property
    def ready(self) -> bool:
        return all(d in self._models for d in self.datasets)

    def loaded(self) -> dict[str, int]:
        return {d: m.version for d, m in self._models.items()}

    def refresh(self) -> None:
        """Load any champion that changed since the last look."""
        with self._refresh_lock:
            for dataset in self.datasets:
                try:
                    version_id = self.registry.alias_id(dataset)
                    current = self._models.get(dataset)
                    if version_id is None or (current and current.version_id == version_id):
                        continue
                    mv = self.registry.get_by_id(version_id)
                    estimator = single_threaded(self.registry.load(mv))
                    self._models[dataset] = LoadedModel.load(dataset, version_id, mv.version, mv.algorithm, estimator)
                    log.info("%s: serving model version %s (%s)", dataset, mv.version, mv.algorithm)
                    self.last_error = None
                except Exception as exc:  # keep serving the old champion; report in /readyz
                    self.last_error = f"{dataset}: {exc}"
                    log.exception("could not load the %s champion", dataset)

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._loop, name="champion-poller", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

"""Background fits: requested ones and the first start's, one at a time, progress in ``jobs``."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine

from dailyml.background_jobs import JobRunner, Progress
from dailyml.datasets import get_spec
from dailyml.generation.fitting import (
    DEFAULT,
    FIT_JOB,
    KIND,
    CandidatesFitted,
    FitOutcome,
    FitSettings,
    fast_candidates,
    fit_and_register,
    fit_candidates,
)
from dailyml.registry import Registry
from dailyml.tables import Job
from services.generator.config import GeneratorConfig
from services.generator.default_synthesizers import SynthesizerServer

log = logging.getLogger("dailyml.generator.fitter")


class FairLock:
    """A first-come first-served lock: fits queue in the order they asked."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._serving = 0

    def acquire(self, waiting: Progress | None = None) -> None:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            if ticket != self._serving and waiting is not None:
                waiting(0.0, "waiting for the running fit to finish")
            self._cond.wait_for(lambda: self._serving == ticket)

    def release(self) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


class Fitter:
    """Starts fit jobs. Fits share two CPU cores with the API, so they run one after another.

    The first start fits one candidate per turn and dataset (iris, wine, iris, ...), so every
    dataset gets a default after its first, quickest candidate and the service is ready soon;
    the other candidates follow and replace it when they measure better.
    """

    def __init__(
        self,
        engine: Engine,
        registry: Registry,
        server: SynthesizerServer,
        config: GeneratorConfig,
        seed: int,
        *,
        heartbeat_seconds: float = 5.0,
        stale_seconds: float = 30.0,
    ) -> None:
        self.engine, self.registry, self.server, self.config, self.seed = engine, registry, server, config, seed
        self.jobs = JobRunner(engine, heartbeat_seconds=heartbeat_seconds, stale_seconds=stale_seconds)
        self._turns = FairLock()

    def start(self) -> int:
        """Fail the fits of generators that died (no heartbeat), then keep this one's alive."""
        return self.jobs.start()

    def stop(self) -> None:
        self.jobs.stop()

    def _fit_one(
        self, spec: Any, algorithm: str, settings: FitSettings, epochs: int | None, promote: str, progress: Progress
    ) -> FitOutcome:
        self._turns.acquire(progress)
        try:
            return fit_and_register(
                self.engine,
                self.registry,
                spec,
                algorithm,
                seed=self.seed,
                settings=settings,
                epochs=epochs,
                promote=promote,
                progress=progress,
            )
        finally:
            self._turns.release()
            self.server.wake()

    def submit(self, dataset: str, algorithm: str, epochs: int | None, promote: str) -> Job:
        """Start fitting ``algorithm`` on ``dataset``'s reference rows; returns the job row."""
        spec = get_spec(dataset)
        settings = FitSettings(report_rows=self.config.report_rows, trees=self.config.trees)

        def body(progress: Progress) -> FitOutcome:
            return self._fit_one(spec, algorithm, settings, epochs, promote, progress)

        params = {"algorithm": algorithm, "epochs": epochs, "promote": promote}
        return self.jobs.submit(FIT_JOB, dataset, params, body)

    def bootstrap(self, datasets: tuple[str, ...]) -> list[Job]:
        """For each dataset without a default synthesizer, fit the fast candidates in the background;
        the best measured becomes default."""
        started = []
        settings = FitSettings(report_rows=self.config.bootstrap_report_rows, trees=self.config.bootstrap_trees)
        for dataset in datasets:
            if self.registry.alias_id(dataset, KIND, DEFAULT) is not None:
                continue
            spec = get_spec(dataset)
            algorithms = [a for a in self.config.bootstrap_algorithms if a] or fast_candidates(spec)

            def body(progress: Progress, spec: Any = spec, algorithms: list[str] = algorithms) -> CandidatesFitted:
                def fit_one(algorithm: str, step: Progress) -> FitOutcome:
                    return self._fit_one(spec, algorithm, settings, None, "auto", step)

                return fit_candidates(self.registry, spec, algorithms, fit_one, progress=progress)

            params = {"bootstrap": True, "algorithms": algorithms, "report_rows": settings.report_rows}
            log.info("%s has no default synthesizer: fitting %s in the background", dataset, ", ".join(algorithms))
            started.append(self.jobs.submit(FIT_JOB, dataset, params, body))
        return started

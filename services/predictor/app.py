"""The predictor service: serves the champion models and the monitoring views."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dailyml.background_jobs import JobRunner
from dailyml.datasets import DATASET_NAMES, SPECS
from dailyml.db import create_db_engine
from dailyml.prediction_log import PredictionLog
from dailyml.registry import Registry
from dailyml.settings import Settings, get_settings
from dailyml.web import service_app
from services.predictor.champions import ModelServer
from services.predictor.fast_path import PredictFastPath
from services.predictor.routes import drift, health, models, monitoring, predict, training


def create_app(settings: Settings | None = None) -> FastAPI:
    """A predictor app. Engines, models and threads are created at start-up, not at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = settings or get_settings()
        engine = create_db_engine(cfg.resolved_database_url)
        registry = Registry.from_settings(engine, cfg)
        registry.check_signing()
        champions = ModelServer(registry, DATASET_NAMES, cfg.model_poll_seconds)
        prediction_log = PredictionLog(
            engine,
            cfg.log_flush_seconds,
            cfg.log_batch_size,
            cfg.log_queue_max,
            enabled=cfg.log_predictions,
            mode=cfg.log_mode,
            when_full=cfg.log_when_full,
            retry_max_seconds=cfg.log_retry_max_seconds,
        )
        app.state.settings, app.state.engine, app.state.registry = cfg, engine, registry
        app.state.models, app.state.prediction_log = champions, prediction_log
        app.state.predict_fast_path = cfg.predict_fast_path
        jobs = JobRunner(engine, heartbeat_seconds=cfg.job_heartbeat_seconds, stale_seconds=cfg.job_stale_seconds)
        app.state.jobs = jobs
        jobs.start()  # fails the training jobs of replicas that died (this one's last life included)
        prediction_log.start()
        champions.start(refresh_first=True)
        # The ~370,000 objects of the libraries and models loaded so far live as long as the
        # process: out of the collector's reach, a full collection no longer stalls every request
        # in flight for a third of a second (measured: 340 ms before, microseconds after).
        gc.freeze()
        try:
            yield
        finally:
            champions.stop()
            jobs.stop()
            prediction_log.stop()
            engine.dispose()

    app = service_app(
        "predictor",
        f"Predictions of {', '.join(spec.title.lower() for spec in SPECS.values())}, their history and monitoring.",
        lifespan,
        innermost=PredictFastPath,
    )
    app.include_router(health.router)
    # Training routes first: "/{d}/models/train" must not be taken for "/{d}/models/{version}".
    for group in (predict.routers, training.routers, monitoring.routers, models.routers, drift.routers):
        for router in group:
            app.include_router(router)
    return app


class _TorchBlocker:
    """A meta-path finder for which ``torch`` (and its submodules) cannot be imported."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r} (kept out of the predictor)", name=name)
        return None


def without_torch() -> None:
    """Keep torch out of a predictor process (call before the first model is loaded).

    Only the generator's synthesizers need torch. When it is installed (the one virtual
    environment of ``dailyml up``), loading a model imports it anyway: skops' trusted-type
    discovery walks every scikit-learn package, ``sklearn.externals.array_api_compat.torch``
    included, which imports torch: 2.7 s of a 9 s start here and a third of the memory.
    A finder first on ``sys.meta_path`` makes that import a ModuleNotFoundError, which the walk
    skips. (Not ``sys.modules["torch"] = None``: SciPy's array-API helpers read
    ``sys.modules["torch"].Tensor`` whenever the key exists, so every ``scipy.stats`` call
    then failed with an AttributeError.)
    """
    if sys.modules.get("torch") is not None:
        return  # already imported: too late to keep out
    sys.modules.pop("torch", None)
    if not any(isinstance(finder, _TorchBlocker) for finder in sys.meta_path):
        sys.meta_path.insert(0, _TorchBlocker())


def create_worker_app() -> FastAPI:
    """The app as each worker process builds it (``uvicorn`` factory): logging first."""
    from dailyml.observability.logs import configure_logging

    configure_logging("predictor")
    without_torch()
    return create_app()

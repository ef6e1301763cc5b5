"""The generator service: synthetic iris flowers and wines with their true label, and their fidelity."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from dailyml.datasets import DATASET_NAMES
from dailyml.db import create_db_engine
from dailyml.registry import Registry
from dailyml.settings import DEFAULT_PORTS, Settings, get_settings
from dailyml.web import service_app
from services.generator.config import GeneratorConfig
from services.generator.default_synthesizers import SynthesizerServer
from services.generator.fitter import Fitter
from services.generator.routes import health, jobs, samples, synthesizers

log = logging.getLogger("dailyml.generator")


def create_app(settings: Settings | None = None, config: GeneratorConfig | None = None) -> FastAPI:
    """A generator app. Engine, synthesizers and threads are created at start-up, not at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = settings or get_settings()
        gen_cfg = config or GeneratorConfig()
        engine = create_db_engine(cfg.resolved_database_url)
        registry = Registry.from_settings(engine, cfg)
        registry.check_signing()
        server = SynthesizerServer(registry, DATASET_NAMES, cfg.model_poll_seconds)
        fitter = Fitter(
            engine,
            registry,
            server,
            gen_cfg,
            cfg.seed,
            heartbeat_seconds=cfg.job_heartbeat_seconds,
            stale_seconds=cfg.job_stale_seconds,
        )
        app.state.settings, app.state.engine, app.state.registry = cfg, engine, registry
        app.state.synthesizers, app.state.fitter, app.state.config = server, fitter, gen_cfg
        fitter.start()  # fails the fits of a generator that died (no heartbeat), this one's last life included
        server.start()
        if gen_cfg.bootstrap:
            fitter.bootstrap(DATASET_NAMES)
        try:
            yield
        finally:
            server.stop()
            fitter.stop()
            engine.dispose()

    app = service_app(
        "generator",
        f"Synthetic rows with their true label ({', '.join(DATASET_NAMES)}), fitted on the reference data "
        "and measured for fidelity on rows they never saw.",
        lifespan,
    )
    app.include_router(health.router)
    app.include_router(jobs.router)
    for group in (samples.routers, synthesizers.routers):
        for router in group:
            app.include_router(router)
    return app


def main(host: str = "127.0.0.1", port: int = DEFAULT_PORTS["generator"]) -> None:
    import uvicorn

    from dailyml.observability.logs import configure_logging

    configure_logging("generator")
    # SDV logs every fit and sample call at INFO: keep the service log readable.
    for noisy in ("SingleTableSynthesizer", "sdv", "copulas", "rdt", "ctgan"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    uvicorn.run(create_app(), host=host, port=port, **get_settings().server_options())

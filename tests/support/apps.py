"""Each service's ASGI app started in this process on a test database, for the suites that send
it many requests (the OpenAPI fuzzing and the hostile inputs).

What would make those runs slow or leave the process is stubbed, not the API: the predictor's
training job body and the generator's fit job body (the routes, job rows and answers are real),
and the scheduler's peer services (its jobs call fakes that fail as a down service does, so
nothing leaves the process).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from dailyml.background_jobs import list_jobs
from dailyml.clients.base import ServiceError
from tests.support import clock
from tests.support.databases import Database
from tests.support.scheduling import fast_settings


class Started:
    """An app whose lifespan runs for the whole module (in a TestClient), reached by schemathesis
    through this wrapper. The wrapper's own lifespan does nothing: schemathesis' pytest plugin
    ends every ASGI lifespan after each test, and the next request would start a second app
    (models, threads, a first-start fit) where the fixture set things up."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


@contextmanager
def running(app: Any) -> Iterator[Started]:
    """``app`` started (its lifespan run) until the block ends."""
    with TestClient(app):
        yield Started(app)


class Stubbed(BaseModel):
    """What a stubbed job body returns: job bodies return models (the runner stores their JSON)."""

    stub: str


def wait_for_jobs(db: Database, runner: Any) -> None:
    """Every background job the app started has ended (none writes to a dropped database)."""
    for job in list_jobs(db.engine, limit=100_000):
        runner.wait(job.id, timeout=300)


@contextmanager
def started_predictor(db: Database) -> Iterator[Started]:
    """The predictor on ``db``; a training job records its rows but trains nothing."""
    from services.predictor.app import create_app
    from services.predictor.routes import training

    def no_training(*args: Any) -> Any:
        return lambda progress: Stubbed(stub="training is not under test here")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "_train_body", no_training)
        with running(create_app(db.settings())) as started:
            yield started
            wait_for_jobs(db, started.app.state.jobs)


@contextmanager
def started_generator(db: Database) -> Iterator[Started]:
    """The generator on ``db`` once its first-start fits are done; later fits fit nothing."""
    from services.generator.app import create_app
    from services.generator.config import GeneratorConfig

    config = GeneratorConfig(bootstrap_algorithms=["empirical_copula"], bootstrap_report_rows=100, bootstrap_trees=5)
    with running(create_app(db.settings(), config)) as started:
        _ready_generator(db, started.app)
        yield started
        wait_for_jobs(db, started.app.state.fitter.jobs)


def _ready_generator(db: Database, app: Any) -> None:
    # The first start fits a default synthesizer per dataset: let it finish before the requests.
    fitter = app.state.fitter
    wait_for_jobs(db, fitter.jobs)
    app.state.synthesizers.refresh()
    assert app.state.synthesizers.ready, app.state.synthesizers.last_error

    def no_fit(*args: Any) -> Stubbed:
        return Stubbed(stub="fitting is not under test here")

    fitter._fit_one = no_fit


class DownPeer:
    """A peer service that is down: every call fails as the HTTP client would report it."""

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            raise ServiceError(500, "peer_down", f"{name}: no peer services in this test")

        return call

    def close(self) -> None:
        pass


@contextmanager
def started_scheduler(db: Database) -> Iterator[Started]:
    """The scheduler on ``db`` with its peers down and no job of its own while the block runs."""
    from services.scheduler.main import create_app

    # No job of its own at any hour: the daily cron fired 12 h ago, past the 1 h grace
    # (fast_settings' 06:00 daily with a 12 h grace catches up between 06:00 and 18:00).
    settings = fast_settings(
        daily_cron=clock.daily_cron_fired(timedelta(hours=12)),
        retrain_cron=clock.yearly_cron_fired(timedelta(days=180)),
        misfire_grace_hours=1,
    )
    app = create_app(db.settings(), settings, generator=DownPeer(), predictor=DownPeer())  # type: ignore[arg-type]
    with running(app) as started:
        yield started

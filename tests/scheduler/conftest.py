"""Scheduler fixtures: one real predictor and generator per backend (their start-up dominates the
suite's time, so the tests of this package share them), and runners with a controllable clock.

Tests sharing a stack keep apart by their run keys: the in-process runners live in March 2030
(a fake clock), the scheduler processes in the session's date (``tests.support.clock``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dailyml.clients.predictor import PredictorClient
from services.scheduler.config import SchedulerSettings
from services.scheduler.runner import Runner
from tests.conftest import ADMIN_TOKEN, Database, _postgres_db, _sqlite_db
from tests.scheduler.outage import Switch
from tests.support.net import wait_http
from tests.support.processes import ServiceProcess, start_service


class FakeClock:
    """A clock the test moves by hand: the scheduler's "now"."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Stack:
    """A database with a predictor and a generator running on it; the generator behind a switch."""

    db: Database
    predictor: ServiceProcess
    generator: ServiceProcess
    generator_switch: Switch


def generator_env(db: Database) -> dict[str, str]:
    """A generator whose first start fits one quick synthesizer (these tests need samples, not fidelity)."""
    return {
        **db.env(),
        "DAILYML_GENERATOR_BOOTSTRAP_ALGORITHMS": '["gaussian_copula"]',
        "DAILYML_GENERATOR_BOOTSTRAP_REPORT_ROWS": "100",
        "DAILYML_GENERATOR_BOOTSTRAP_TREES": "5",
    }


@pytest.fixture(scope="package", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp_path = tmp_path_factory.mktemp(f"scheduler-{request.param}")
    if request.param == "sqlite":
        db = _sqlite_db(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        server = request.getfixturevalue("postgres_server")
        db = _postgres_db(server, request.getfixturevalue("postgres_template"), tmp_path)
    logs = tmp_path / "logs"
    # Both start at once; the generator's wait covers most of the predictor's.
    predictor = start_service("predictor", db.env(), logs, ready_path=None)
    try:
        generator = start_service("generator", generator_env(db), logs, timeout=180)
        wait_http(predictor.url + "/readyz", timeout=120)
    except BaseException:
        predictor.stop()
        raise
    switch = Switch(generator.port)
    switch.on()
    yield Stack(db, predictor, generator, switch)
    switch.off()
    generator.stop()
    predictor.stop()
    db.engine.dispose()
    if db.backend == "postgres":
        request.getfixturevalue("postgres_server").drop_database(db.url.rsplit("/", 1)[-1])


def fast_settings(**overrides: Any) -> SchedulerSettings:
    """Scheduler settings for tests: quick retries, no long waits, no first-start run (these
    tests drive the cron, catch-up and retry paths; test_any_hour.py covers the first start)."""
    values: dict[str, Any] = {
        "run_on_first_start": False,
        "daily_cron": "0 6 * * *",
        "retrain_cron": "0 7 * * mon",
        "backoff_seconds": 0.2,
        "backoff_max_seconds": 0.5,
        "http_attempts": 3,
        "job_poll_seconds": 0.3,
        "train_profile": "fast",
        "http_timeout_seconds": 30,
    }
    values.update(overrides)
    return SchedulerSettings(**values)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2030, 3, 4, 7, 30, tzinfo=UTC))  # a Monday, after both default fire times


class NoGenerator:
    def generate(self, dataset: str, n: int = 1, idempotency_key: str | None = None) -> Any:
        raise AssertionError("this test's jobs must not call the generator")


def predictor_client(url: str) -> PredictorClient:
    return PredictorClient(url, admin_token=ADMIN_TOKEN, timeout=60)


def generator_client(url: str) -> Any:
    from dailyml.clients.generator import GeneratorClient

    return GeneratorClient(url, admin_token=ADMIN_TOKEN, timeout=60)


def make_runner(
    db: Database, predictor_url: str, generator_url: str | None, clock: FakeClock, **overrides: Any
) -> Runner:
    """A runner on the test's database talking to real service processes over HTTP.

    Without ``generator_url`` the runner gets a generator that must not be called (retraining).
    """
    gen = generator_client(generator_url) if generator_url else NoGenerator()
    return Runner(db.engine, fast_settings(**overrides), predictor_client(predictor_url), gen, clock=clock)

"""Scheduler fixtures: real predictor/generator processes and a runner with a controllable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dailyml.clients.predictor import PredictorClient
from services.scheduler.config import SchedulerSettings
from services.scheduler.runner import Runner
from tests.conftest import ADMIN_TOKEN, Database
from tests.support.processes import ServiceProcess, start_service


class FakeClock:
    """A clock the test moves by hand: the scheduler's "now"."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def fast_settings(**overrides: Any) -> SchedulerSettings:
    """Scheduler settings for tests: quick retries, no long waits."""
    values: dict[str, Any] = {
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
    return FakeClock(datetime(2026, 3, 2, 7, 30, tzinfo=UTC))  # a Monday, after both fire times


@pytest.fixture
def predictor(db: Database, tmp_path: Path) -> Iterator[ServiceProcess]:
    service = start_service("predictor", db.env(), tmp_path / "logs")
    yield service
    service.stop()


@pytest.fixture
def generator(db: Database, tmp_path: Path) -> Iterator[ServiceProcess]:
    service = start_service("generator", db.env(), tmp_path / "logs", timeout=180)
    yield service
    service.stop()


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

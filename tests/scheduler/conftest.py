"""Scheduler fixtures: one real predictor and generator per backend (their start-up dominates the
suite's time, so the tests of this package share them), and runners with a controllable clock.

Tests sharing a stack keep apart by their run keys: the in-process runners live in March 2030
(a fake clock), the scheduler processes in the session's date (``tests.support.clock``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dailyml.clients.predictor import PredictorClient
from dailyml.contracts.generator import GenerateOut
from services.scheduler.runner import Runner
from tests.support.credentials import ADMIN_TOKEN
from tests.support.databases import Database, fresh_database
from tests.support.generator import quick_generator_env
from tests.support.net import wait_http
from tests.support.processes import ServiceProcess, start_service
from tests.support.scheduling import FakeClock, fast_settings
from tests.support.switch import Switch


@dataclass
class Stack:
    """A database with a predictor and a generator running on it; the generator behind a switch."""

    db: Database
    predictor: ServiceProcess
    generator: ServiceProcess
    generator_switch: Switch


@pytest.fixture(scope="package", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp_path = tmp_path_factory.mktemp(f"scheduler-{request.param}")
    with fresh_database(request, request.param, tmp_path) as db:
        yield from _stack_on(db, tmp_path / "logs")


def _stack_on(db: Database, logs: Path) -> Iterator[Stack]:
    # Both start at once; the generator's wait covers most of the predictor's.
    predictor = start_service("predictor", db.env(), logs, ready_path=None)
    try:
        generator = start_service("generator", quick_generator_env(db), logs, timeout=180)
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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2030, 3, 4, 7, 30, tzinfo=UTC))  # a Monday, after both default fire times


class NoGenerator:
    def generate(self, dataset: str, n: int = 1, idempotency_key: str | None = None) -> GenerateOut:
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

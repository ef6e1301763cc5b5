"""The database goes away at the end of a daily run, after its work is done: the scheduler
records the outcome once the database is back instead of leaving the run ``running`` (which
would be taken over and redone after ``run_timeout_minutes``)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from dailyml.contracts import PendingResult
from dailyml.contracts.generator import GenerateOut
from services.scheduler import runlog
from services.scheduler.runner import Runner
from tests.support.databases import Database
from tests.support.scheduling import FakeClock, fast_settings
from tests.support.switch import Switch

pytestmark = pytest.mark.postgres


class Generator:
    def generate(self, dataset: str, n: int = 1, idempotency_key: str | None = None) -> GenerateOut:
        return GenerateOut(dataset=dataset, n=n, samples=[{}] * n, replayed=False, synthesizer_version=1)


class PredictorThatOutlivesTheDatabase:
    """Answers, but the database goes away as it does (and comes back ``after`` seconds later)."""

    def __init__(self, switch: Switch, after: float) -> None:
        self.switch, self.after = switch, after

    def predict_pending(self, dataset: str, limit: int = 10_000) -> PendingResult:
        self.switch.off()
        threading.Timer(self.after, self.switch.on).start()
        return PendingResult(dataset=dataset, predicted=3, model_version=1)


def test_a_run_whose_outcome_cannot_be_written_is_recorded_when_the_database_returns(
    postgres_db: Database,
    database_switch: Switch,
) -> None:
    from dailyml.db import create_db_engine

    url = database_switch.route(postgres_db.url)
    engine = create_db_engine(url)
    clock = FakeClock(datetime(2030, 3, 4, 7, 30, tzinfo=UTC))
    settings = fast_settings(backoff_seconds=0.2, backoff_max_seconds=0.5)
    runner = Runner(engine, settings, PredictorThatOutlivesTheDatabase(database_switch, 1.5), Generator(), clock=clock)  # type: ignore[arg-type]
    try:
        claim = runner.execute("daily", "iris", "2030-03-04", trigger="manual", automatic=False)
        assert claim.owned and claim.run.status == "succeeded", claim
        run = runlog.get_run(postgres_db.engine, "daily", "iris", "2030-03-04")
        assert run is not None and run.status == "succeeded" and run.attempts == 1
        assert run.counts["predicted"] == 3  # type: ignore[index]
    finally:
        engine.dispose()

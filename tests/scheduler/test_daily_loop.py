"""The daily loop against real predictor and generator processes, driven by a controllable clock."""

from __future__ import annotations

import threading
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dailyml.tables import GenerationRequest, Prediction, Run, Sample
from services.scheduler import runlog
from services.scheduler.runner import Runner
from tests.scheduler.conftest import Stack, make_runner, predictor_client
from tests.support.databases import Database
from tests.support.scheduling import FakeClock

pytestmark = pytest.mark.processes


def _synthetic(db: Database, dataset: str) -> list[dict[str, object]]:
    """Synthetic samples with their prediction's time (None when not predicted)."""
    query = (
        sa.select(Sample.id, Sample.label, Sample.created_at, Prediction.created_at.label("predicted_at"))  # type: ignore[attr-defined]
        .select_from(Sample)
        .outerjoin(Prediction, Prediction.sample_id == Sample.id)  # type: ignore[arg-type]
        .where(Sample.dataset == dataset, Sample.source == "synthetic")
    )
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def _contend(runner: Runner, n: int) -> list[str]:
    """``n`` simultaneous triggers (manual, cron and catch-up) of the daily job; their outcomes."""
    barrier, outcomes, lock = threading.Barrier(n), [], threading.Lock()

    def one(i: int) -> None:
        barrier.wait()
        claims = runner.trigger("daily", None, trigger="manual" if i % 2 else "cron") if i % 3 else runner.tick()
        with lock:
            outcomes.extend(c.outcome for c in claims if c.run.job == "daily")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def _runs_2030(db: Database, **filters: str) -> list[Run]:
    """This test's runs (its clock is in 2030; other tests of the stack run today)."""
    return [r for r in runlog.list_runs(db.engine, limit=500, **filters)[1] if r.scheduled_for.startswith("2030-")]


def test_daily_loop_catches_up_once_then_runs_exactly_once_per_day(stack: Stack, clock: FakeClock) -> None:
    db, predictor = stack.db, stack.predictor
    runner = make_runner(db, predictor.url, stack.generator.url, clock, samples_per_day=3, retrain_cron="0 7 1 1 *")
    before = {d: len(_synthetic(db, d)) for d in ("iris", "wine")}

    # The scheduler was down at 06:00 and starts at 07:30, within the misfire grace: catch up once.
    claims = runner.tick()
    assert [(c.run.dataset, c.outcome, c.run.trigger) for c in claims] == [
        ("iris", "started", "catchup"),
        ("wine", "started", "catchup"),
    ]
    # Cron, manual and catch-up triggers at once, for a day already done: nothing happens twice.
    assert set(_contend(runner, 6)) == {"already_succeeded"}

    runs = _runs_2030(db, job="daily")
    assert len(runs) == 2
    for run in runs:
        assert (run.status, run.attempts, run.error, run.scheduled_for) == ("succeeded", 1, None, "2030-03-04")
        assert run.counts["generated"] == 3 and run.counts["replayed"] is False
        assert run.counts["predicted"] >= 3 and run.counts["idempotency_key"] == f"daily:{run.dataset}:2030-03-04"

    client = predictor_client(predictor.url)
    for dataset in ("iris", "wine"):
        rows = _synthetic(db, dataset)
        assert len(rows) == before[dataset] + 3
        # Generated first, then predicted: every new sample has a prediction made after it was stored.
        assert all(r["predicted_at"] is not None and r["predicted_at"] >= r["created_at"] for r in rows)
        history = client.history(dataset, source="synthetic", limit=50)
        assert history.total == len(rows)
        assert all(item.actual is not None and item.correct is not None for item in history.items)
        assert client.confusion_matrix(dataset, source="synthetic").total == len(rows)

    # Down from before 06:00 until 19:00 the next day: beyond the 12 h grace, that day is not caught up.
    clock.advance(days=1, hours=11, minutes=30)
    assert runner.tick() == []

    # The day after, simultaneous triggers of a fresh day: one run per dataset.
    clock.advance(hours=11, seconds=1)
    outcomes = _contend(runner, 4)
    assert sorted(outcomes).count("started") == 2
    assert set(outcomes) <= {"started", "in_progress", "already_succeeded"}
    runs = _runs_2030(db, job="daily")
    assert len(runs) == 4 and {(r.scheduled_for, r.status) for r in runs} == {
        ("2030-03-04", "succeeded"),
        ("2030-03-06", "succeeded"),
    }
    with db.engine.connect() as conn:
        keys = conn.execute(sa.select(GenerationRequest.idempotency_key)).scalars().all()
    assert sorted(k for k in keys if k.startswith("daily:") and ":2030-" in k) == [
        "daily:iris:2030-03-04",
        "daily:iris:2030-03-06",
        "daily:wine:2030-03-04",
        "daily:wine:2030-03-06",
    ]
    assert {d: len(_synthetic(db, d)) for d in ("iris", "wine")} == {d: n + 6 for d, n in before.items()}


def test_fast_mode_runs_the_daily_loop_every_minute(stack: Stack, clock: FakeClock) -> None:
    runner = make_runner(
        stack.db,
        stack.predictor.url,
        stack.generator.url,
        clock,
        fast=True,
        datasets=["iris"],
        retrain_cron="0 7 1 1 *",
    )
    clock.advance(days=10, minutes=47, seconds=20)  # 2030-03-14 08:17:20 UTC
    keys, expected = [], []
    for _ in range(3):
        [claim] = runner.run_scheduled("daily")
        assert claim.run.status == "succeeded" and claim.run.counts["generated"] == 1
        keys.append(claim.run.scheduled_for)
        expected.append(clock().astimezone(ZoneInfo(runner.settings.timezone)).strftime("%Y-%m-%dT%H:%M"))
        assert runner.tick() == []  # this minute is done
        clock.advance(minutes=1)
    assert keys == expected  # the minutes in the scheduler's time zone (08:17 ... in UTC)

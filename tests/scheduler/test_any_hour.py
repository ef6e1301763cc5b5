"""The scheduler as a process at chosen instants: night, noon, a minute before midnight, and both
daylight-saving changes of a European time zone, with its production crons (daily 06:00, weekly
retraining on Monday 07:00, none of these instants within the retraining's grace).

Each scheduler gets its own clock (``DAILYML_CLOCK_OFFSET_SECONDS``: the instant minus the real
time when it starts) and its own run log (a fresh database), and talks to the package's real
predictor and generator. It must, at every one of these instants: run the daily loop at once on
a first start (an empty run log), key the run by the date of the cron's latest fire in its time
zone, and say when the next fire is due.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dailyml.clients.scheduler import SchedulerClient
from dailyml.contracts.scheduler import RunOut
from tests.scheduler.conftest import Stack
from tests.support import clock
from tests.support.credentials import ADMIN_TOKEN
from tests.support.databases import Database, fresh_database
from tests.support.processes import ServiceProcess, start_service
from tests.support.waiting import NotYet, wait_until

pytestmark = pytest.mark.processes


def _utc(text: str) -> datetime:
    return clock.parse_instant(text)


@pytest.fixture
def run_log(stack: Stack, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh database of the stack's backend for the scheduler's run log only."""
    with fresh_database(request, stack.db.backend, tmp_path) as db:
        yield db


def _start_at(
    instant: datetime, timezone: str, stack: Stack, run_log: Database, tmp: Path, **env: str
) -> ServiceProcess:
    """A scheduler whose clock reads ``instant`` as it is started."""
    offset = instant - datetime.now(UTC)
    return start_service(
        "scheduler",
        {
            **run_log.env(),
            "DAILYML_CLOCK_OFFSET_SECONDS": f"{offset.total_seconds():.6f}",
            "DAILYML_PREDICTOR_URL": stack.predictor.url,
            "DAILYML_GENERATOR_URL": stack.generator.url,
            "DAILYML_SCHEDULER_TIMEZONE": timezone,
            "DAILYML_SCHEDULER_RETRY_INTERVAL_SECONDS": "2",
            "DAILYML_SCHEDULER_BACKOFF_SECONDS": "0.2",
            **env,
        },
        tmp / "logs",
    )


def _daily_runs(client: SchedulerClient) -> list[RunOut]:
    return client.runs(job="daily", limit=100).items


def _succeeded(client: SchedulerClient, keys: set[str]) -> list[RunOut] | NotYet:
    """The daily runs once every dataset's run of every key in ``keys`` succeeded."""
    runs = _daily_runs(client)
    done = {(r.dataset, r.scheduled_for) for r in runs if r.status == "succeeded"}
    wanted = {(d, k) for d in ("iris", "wine") for k in keys}
    return runs if wanted <= done else NotYet([(r.dataset, r.scheduled_for, r.status, r.error) for r in runs])


# instant, time zone, the run key of the default daily cron (06:00) then, its next fire (UTC)
INSTANTS = [
    # Before 06:00: the latest fire was yesterday's, 21 h ago, beyond the 12 h grace: only a
    # first start runs it.
    ("2026-06-01T03:00:00Z", "UTC", "2026-05-31", "2026-06-01T06:00:00Z"),
    ("2026-06-02T12:00:00Z", "UTC", "2026-06-02", "2026-06-03T06:00:00Z"),
    ("2026-06-03T23:59:30Z", "UTC", "2026-06-03", "2026-06-04T06:00:00Z"),
    # Paris, 30 s before 02:00 CET becomes 03:00 CEST: tomorrow's 06:00 is 04:00 UTC.
    ("2026-03-29T00:59:30Z", "Europe/Paris", "2026-03-28", "2026-03-29T04:00:00Z"),
    # Paris, 30 s before 03:00 CEST becomes 02:00 CET: tomorrow's 06:00 is 05:00 UTC.
    ("2026-10-25T00:59:30Z", "Europe/Paris", "2026-10-24", "2026-10-25T05:00:00Z"),
]


@pytest.mark.parametrize(("instant", "timezone", "key", "next_fire"), INSTANTS, ids=[i[0] for i in INSTANTS])
def test_first_start_runs_the_daily_loop_at_any_hour(
    stack: Stack, run_log: Database, tmp_path: Path, instant: str, timezone: str, key: str, next_fire: str
) -> None:
    scheduler = _start_at(
        _utc(instant),
        timezone,
        stack,
        run_log,
        tmp_path,
    )
    try:
        client = SchedulerClient(scheduler.url, admin_token=ADMIN_TOKEN, timeout=120)
        schedule = client.schedule()
        daily = next(j for j in schedule.jobs if j.job == "daily")
        assert (daily.cron, daily.timezone) == ("0 6 * * *", timezone)
        assert daily.next_run_time is not None and daily.next_run_time.astimezone(UTC) == _utc(next_fire)
        assert daily.current_period == key

        runs = wait_until(lambda: _succeeded(client, {key}), 120, f"the first-start daily runs of {key}")
        assert sorted((r.dataset, r.scheduled_for, r.trigger, r.attempts) for r in runs) == [
            ("iris", key, "first", 1),
            ("wine", key, "first", 1),
        ]
        assert all(r.counts["generated"] == 1 and r.counts["predicted"] >= 1 for r in runs)
        # Started again at the same instant, it has nothing to do: the period is done.
        assert {r.outcome for r in client.trigger("daily").items} == {"already_succeeded"}
    finally:
        scheduler.stop()


def test_a_day_begins_at_midnight_while_the_scheduler_runs(stack: Stack, run_log: Database, tmp_path: Path) -> None:
    """Started 40 s before midnight: the first start runs the day that ends, the cron the day that begins."""
    scheduler = _start_at(
        _utc("2026-06-05T23:59:20Z"),
        "UTC",
        stack,
        run_log,
        tmp_path,
        DAILYML_SCHEDULER_DAILY_CRON="0 0 * * *",
    )
    try:
        client = SchedulerClient(scheduler.url, admin_token=ADMIN_TOKEN, timeout=120)
        runs = wait_until(
            lambda: _succeeded(client, {"2026-06-05", "2026-06-06"}), 180, "the runs of both sides of midnight"
        )
        by_key = sorted((r.scheduled_for, r.dataset, r.attempts) for r in runs)
        assert by_key == [(k, d, 1) for k in ("2026-06-05", "2026-06-06") for d in ("iris", "wine")]
        # The new day is run by its cron fire (or by the retry tick, if that thread got there first).
        assert {r.trigger for r in runs if r.scheduled_for == "2026-06-05"} == {"first"}
        assert {r.trigger for r in runs if r.scheduled_for == "2026-06-06"} <= {"cron", "catchup"}
        started = {r.scheduled_for: r.started_at for r in runs if r.dataset == "iris"}
        assert started["2026-06-05"] < _utc("2026-06-06T00:00:00Z") <= started["2026-06-06"]
        assert started["2026-06-06"] - _utc("2026-06-06T00:00:00Z") < timedelta(seconds=60)
    finally:
        scheduler.stop()

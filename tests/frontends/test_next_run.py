"""The next daily run as every empty state of the dashboard says it, at injected times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dailyml.contracts.scheduler import ScheduledJobOut, ScheduleOut
from frontends.dashboard.next_run import next_run_hint, relative

NOW = datetime(2026, 12, 1, 0, 57, tzinfo=UTC)


def _schedule(next_run_time: datetime | None, datasets: tuple[str, ...] = ("iris", "wine")) -> dict:
    """A ``GET /schedule`` answer as the dashboard gets it (the client's model, as JSON)."""
    jobs = [
        ScheduledJobOut(
            job="daily",
            cron="0 6 * * *",
            timezone="UTC",
            next_run_time=next_run_time,
            current_period="2026-11-30",
            datasets=list(datasets),
        ),
        ScheduledJobOut(
            job="retrain",
            cron="0 7 * * mon",
            timezone="UTC",
            next_run_time=NOW + timedelta(days=6),
            current_period=None,
            datasets=list(datasets),
        ),
    ]
    schedule = ScheduleOut(
        timezone="UTC", fast=False, misfire_grace_hours=12, promotion_margin=0.0, retry_interval_seconds=60, jobs=jobs
    )
    return schedule.model_dump(mode="json")


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=5, minutes=3, seconds=59), "in 5 h 3 min"),
        (timedelta(minutes=3), "in 3 min"),
        (timedelta(seconds=20), "in less than a minute"),
        (timedelta(days=2, hours=4, minutes=10), "in 2 d 4 h"),
        (timedelta(0), "due now"),
        (timedelta(minutes=-2), "due now"),
    ],
)
def test_relative_times(delta: timedelta, text: str) -> None:
    assert relative(delta) == text


def test_next_run_in_utc_with_the_date_how_far_and_the_command() -> None:
    hint = next_run_hint(_schedule(datetime(2026, 12, 1, 6, 0, tzinfo=UTC)), None, "iris", NOW)
    assert hint == "Next daily run: 2026-12-01 06:00 UTC (in 5 h 3 min). To run it now: `dailyml run daily`."


def test_a_scheduler_in_another_time_zone_is_shown_in_utc() -> None:
    paris = datetime.fromisoformat("2026-12-02T07:00:00+01:00")
    hint = next_run_hint(_schedule(paris), None, "wine", NOW)
    assert hint.startswith("Next daily run: 2026-12-02 06:00 UTC (in 1 d 5 h).")


def test_unreachable_scheduler_is_said_with_the_command_that_needs_none() -> None:
    error = "The scheduler service is not reachable (http://127.0.0.1:9). Is it running?"
    hint = next_run_hint(None, error, "iris", NOW)
    assert hint.startswith(error)
    assert "`dailyml run daily --local`" in hint and "Next daily run" not in hint


def test_paused_job_and_dataset_left_out() -> None:
    assert "not scheduled" in next_run_hint(_schedule(None), None, "iris", NOW)
    assert "does not include wine" in next_run_hint(_schedule(NOW, datasets=("iris",)), None, "wine", NOW)

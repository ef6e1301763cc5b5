"""The scheduler in tests: in-process runners on a clock moved by hand, and scheduler processes
whose daily run is due at whatever hour the test runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.scheduler.config import SchedulerSettings
from services.scheduler.periods import Cron
from tests.support import clock
from tests.support.databases import Database


class FakeClock:
    """A clock the test moves by hand: the scheduler's "now"."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


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


def scheduler_env(db: Database, predictor_url: str, generator_url: str, samples_per_day: int = 2) -> dict[str, str]:
    """A scheduler process on ``db`` whose daily run is due at start-up, at any hour; no retraining."""
    return {
        **db.env(),
        "DAILYML_PREDICTOR_URL": predictor_url,
        "DAILYML_GENERATOR_URL": generator_url,
        # Fired an hour ago with a two-hour grace: today's run is due at start-up (a catch-up) at
        # any hour, and the next day begins almost a day later, never during the test.
        "DAILYML_SCHEDULER_DAILY_CRON": clock.daily_cron_fired(timedelta(hours=1)),
        "DAILYML_SCHEDULER_MISFIRE_GRACE_HOURS": "2",
        # Last fired half a year ago: retraining stays out of these tests.
        "DAILYML_SCHEDULER_RETRAIN_CRON": clock.yearly_cron_fired(timedelta(days=180)),
        "DAILYML_SCHEDULER_RETRY_INTERVAL_SECONDS": "1",
        "DAILYML_SCHEDULER_MAX_ATTEMPTS": "1000",
        "DAILYML_SCHEDULER_HTTP_ATTEMPTS": "2",
        "DAILYML_SCHEDULER_BACKOFF_SECONDS": "0.2",
        "DAILYML_SCHEDULER_SAMPLES_PER_DAY": str(samples_per_day),
    }


def todays_run_key(env: dict[str, str]) -> str:
    """The run key of the daily cron in ``env`` now: the date of its latest fire."""
    cron = Cron(env["DAILYML_SCHEDULER_DAILY_CRON"], str(clock.scheduler_timezone()))
    fire = cron.latest_fire(clock.now())
    assert fire is not None
    return cron.run_key(fire)

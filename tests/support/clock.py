"""The instant the test session runs at: the machine's, or the one ``DAILYML_TEST_CLOCK`` names.

``DAILYML_TEST_CLOCK=2026-03-29T00:59:30Z pytest ...`` runs the session as if it had started at
that instant: ``install`` turns it into ``DAILYML_CLOCK_OFFSET_SECONDS`` in this process's
environment, so the core (``dailyml.clock.now``) and every service process the tests start read
the same shifted clock, which then runs at real speed. The tests ask :func:`now` and
:func:`today` instead of the machine's clock, and derive crons from it (:func:`daily_cron_fired`),
so that no expectation depends on the hour at which they happen to run.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dailyml import clock

TEST_CLOCK_ENV = "DAILYML_TEST_CLOCK"


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset (``Z`` allowed); a naive one is refused."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{TEST_CLOCK_ENV}={text!r} needs a UTC offset (e.g. 2026-12-01T23:59:30Z)")
    return moment.astimezone(UTC)


def install() -> None:
    """Shift this process's clock (and its children's) to ``DAILYML_TEST_CLOCK``, if set."""
    raw = os.environ.get(TEST_CLOCK_ENV, "").strip()
    if not raw:
        return
    offset = parse_instant(raw) - datetime.now(UTC)
    os.environ[clock.OFFSET_ENV] = f"{offset.total_seconds():.6f}"
    clock.offset.cache_clear()


def now() -> datetime:
    """The session's "now", UTC (what every service process started by the tests reads)."""
    return clock.now()


def scheduler_timezone() -> ZoneInfo:
    """The time zone the scheduler processes run in (``DAILYML_SCHEDULER_TIMEZONE``, default UTC)."""
    return ZoneInfo(os.environ.get("DAILYML_SCHEDULER_TIMEZONE") or "UTC")


def daily_cron_fired(ago: timedelta, at: datetime | None = None) -> str:
    """A daily crontab whose latest fire was ``ago`` before ``at`` (default now), in the scheduler's zone.

    A test that needs "today's run to be due" uses it with a grace longer than ``ago``: the run is
    due at whatever hour the test runs, and the next day starts almost a day later, not during it.
    """
    fire = ((at or now()) - ago).astimezone(scheduler_timezone())
    return f"{fire.minute} {fire.hour} * * *"


def yearly_cron_fired(ago: timedelta, at: datetime | None = None) -> str:
    """A yearly crontab whose latest fire was ``ago`` before ``at``: keeps a job out of a test."""
    fire = ((at or now()) - ago).astimezone(scheduler_timezone())
    return f"{fire.minute} {fire.hour} {fire.day} {fire.month} *"

"""The one clock every dailyml process reads: "now", timezone-aware UTC.

Production reads the system clock. ``DAILYML_CLOCK_OFFSET_SECONDS`` shifts it by a constant, a
test hook: the tests start every service with the same offset to run them at 03:00, at 23:59:30
or across a daylight-saving change, whatever the hour of the machine. Time still runs at real
speed, so waits, timeouts and cron fires behave as they would at that instant. (libfaketime is
no substitute here: it breaks scikit-learn's threaded fits.)

Everything that stamps or keys by time goes through :func:`now`: row timestamps
(``tables.utcnow``), the scheduler's run keys, and the scheduler's cron thread
(:func:`apscheduler_clock`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

OFFSET_ENV = "DAILYML_CLOCK_OFFSET_SECONDS"

Clock = Callable[[], datetime]


@lru_cache(maxsize=1)
def offset() -> timedelta:
    """The configured shift of this process's clock (zero unless the test hook is set)."""
    raw = os.environ.get(OFFSET_ENV, "").strip()
    if not raw:
        return timedelta(0)
    try:
        return timedelta(seconds=float(raw))
    except (ValueError, OverflowError):
        raise ValueError(f"{OFFSET_ENV} must be a number of seconds, not {raw!r}") from None


def now() -> datetime:
    """The current time, timezone-aware UTC, shifted by :func:`offset`."""
    return datetime.now(UTC) + offset()


def is_shifted() -> bool:
    """True when this process runs on a shifted clock (the test hook is set)."""
    return offset() != timedelta(0)


@contextmanager
def apscheduler_clock(clock: Clock) -> Iterator[None]:
    """Make APScheduler 3's scheduler loop read ``clock`` while the block runs.

    APScheduler 3 has no clock parameter: its scheduler loop (wake-ups, due jobs) and its
    executors (the misfire grace) call ``datetime.now(tz)``. Within the block, that name in
    those two modules is a ``datetime`` whose ``now`` reads ``clock``, so fire times, misfire
    grace and sleeps are all on one clock. Only for a clock other than the system's (tests):
    production never patches anything.
    """
    import apscheduler.executors.base as executors
    import apscheduler.schedulers.base as schedulers

    class ClockedDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            moment = clock()
            return moment.astimezone(tz) if tz is not None else moment

    modules = (schedulers, executors)
    originals = [module.datetime for module in modules]
    for module in modules:
        module.datetime = ClockedDatetime
    try:
        yield
    finally:
        for module, original in zip(modules, originals, strict=True):
            module.datetime = original

"""Which scheduled occurrence a moment belongs to, and the run key that names it.

A run is keyed by (job, dataset, scheduled_for). ``scheduled_for`` is the date of the latest
cron fire time at or before now (in the scheduler's time zone) for crons that fire at most once
a day, and the minute of that fire time for more frequent crons (fast mode). Every trigger --
cron, catch-up, retry, manual -- computes the key the same way, so they all contend for the same
row and the database's unique constraint lets one of them run it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.scheduler.config import parse_cron

# Windows searched backwards for the previous fire time: short first, so a per-minute cron
# costs a few steps and a monthly one still terminates.
_WINDOWS = (
    timedelta(minutes=2),
    timedelta(hours=2),
    timedelta(days=2),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=367),
)


class Cron:
    """A crontab in a time zone: previous fire times and run keys."""

    def __init__(self, expr: str, timezone: str) -> None:
        self.expr, self.timezone = expr, timezone
        self.tz = ZoneInfo(timezone)
        self.trigger: Any = parse_cron(expr, timezone)
        self.daily_or_slower = self._period() >= timedelta(days=1) - timedelta(hours=1)  # DST days are 23 h

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after ``moment``."""
        return self.trigger.get_next_fire_time(None, moment + timedelta(microseconds=1))  # type: ignore[no-any-return]

    def latest_fire(self, now: datetime) -> datetime | None:
        """The last fire time at or before ``now`` (None if there was none within a year)."""
        now = now.astimezone(self.tz)
        for window in _WINDOWS:
            fire = self.trigger.get_next_fire_time(None, now - window)
            if fire is None or fire > now:
                continue
            while True:
                following = self.next_after(fire)
                if following is None or following > now:
                    return fire  # type: ignore[no-any-return]
                fire = following
        return None

    def run_key(self, fire: datetime) -> str:
        """The ``scheduled_for`` of a fire time: its date, or its minute for sub-daily crons."""
        local = fire.astimezone(self.tz)
        return local.strftime("%Y-%m-%d") if self.daily_or_slower else local.strftime("%Y-%m-%dT%H:%M")

    def _period(self) -> timedelta:
        # The shortest gap between consecutive fires over a sample of two weeks.
        start = datetime(2024, 1, 1, tzinfo=self.tz)
        fires: list[datetime] = []
        fire = self.trigger.get_next_fire_time(None, start)
        while fire is not None and len(fires) < 400 and fire < start + timedelta(days=14):
            fires.append(fire)
            fire = self.next_after(fire)
        if len(fires) < 2:
            return timedelta(days=365)
        return min(b - a for a, b in zip(fires, fires[1:], strict=False))

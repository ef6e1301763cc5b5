"""APScheduler's cron trigger, corrected across daylight-saving changes.

APScheduler 3 (3.11.3 here) can skip a day when its search for the next fire time crosses a
change of UTC offset: in Europe/Paris, after the 00:30 fire on the day clocks go forward
(2026-03-29), it answers 2026-03-31 00:30 instead of 2026-03-30 00:30 (agronholm/apscheduler#606).
A daily loop in such a zone would silently miss the day after. The search is right when it
starts after the change, so the next fire time is the earliest of APScheduler's answer and its
answers searched again from just after each offset change before that answer: each of those is a
real fire time no earlier than ``now``, and the first of them is the one that was skipped.
In the hour repeated when clocks go back, it can also answer the same fire time again, which
would spin APScheduler's loop: the search then goes on from later until it moves.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

_STEP = timedelta(minutes=15)  # offset changes happen on the quarter hour in every IANA zone
_NO_CHANGE_WITHIN = timedelta(days=60)  # zones change offset at most twice a year, months apart


class DstSafeCronTrigger(CronTrigger):  # type: ignore[misc]
    """A ``CronTrigger`` whose next fire time neither skips a day nor stands still across a DST change."""

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        # APScheduler's own start of the search, computed on instants (wall-clock arithmetic
        # loses the fold: 02:30 of the second pass plus 1 µs would be the first pass's 02:30).
        start = _instant(now)
        if previous_fire_time is not None:
            start = min(start, _instant(previous_fire_time) + timedelta(microseconds=1))
        found: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        # In the hour repeated when clocks go back, APScheduler can answer a time that is not after
        # the start as an instant (the same 02:30 again): its own loop would then never advance.
        # Search on from the next quarter hours until the answer is later.
        probe = start
        for _ in range(16):
            if found is None or _instant(found) >= start:
                break
            probe += _STEP
            found = super().get_next_fire_time(None, probe.astimezone(self.timezone))
        if found is None:
            return None
        for change in _offset_changes(start.astimezone(self.timezone), found):
            again: datetime | None = super().get_next_fire_time(None, change)
            if again is not None and start <= _instant(again) < _instant(found):
                found = again
        return found


def _instant(moment: datetime) -> datetime:
    # Aware datetimes of one zone compare by wall time (fold ignored): compare instants in UTC.
    return moment.astimezone(UTC)


def _offset_changes(start: datetime, end: datetime) -> list[datetime]:
    """The first quarter-hour instants after each change of UTC offset in ``(start, end)``."""
    if end - start <= _NO_CHANGE_WITHIN and start.utcoffset() == end.utcoffset():
        return []  # no change, or two: impossible that close together
    tz, last = end.tzinfo, _instant(end)
    changes, moment, offset = [], _instant(start), start.utcoffset()
    while moment < last:
        moment += _STEP
        local = moment.astimezone(tz)
        if local.utcoffset() != offset:
            changes.append(local)
            offset = local.utcoffset()
    return changes

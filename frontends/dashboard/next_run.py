"""When the scheduler's next daily run is due, and how to start one now: said by every empty state
of the dashboard, so an empty page says when it will fill instead of just being empty.

Pure functions of the scheduler's ``GET /schedule`` answer (or why there is none) and of ``now``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dailyml.vocab import JobName

DAILY_JOB: JobName = "daily"
TRIGGER = "`dailyml run daily`"
TRIGGER_LOCAL = "`dailyml run daily --local`"


def relative(delta: timedelta) -> str:
    """``in 5 h 3 min``, ``in 2 d 4 h``, ``in 3 min``, ``in less than a minute``; ``due now`` when
    the time has come (the run may be on its way)."""
    minutes = int(delta.total_seconds() // 60)
    if delta.total_seconds() <= 0:
        return "due now"
    if minutes < 1:
        return "in less than a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"in {days} d {hours} h"
    if hours:
        return f"in {hours} h {minutes} min"
    return f"in {minutes} min"


def _parse(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def next_run_hint(schedule: dict[str, Any] | None, error: str | None, dataset: str, now: datetime) -> str:
    """One or two sentences: the next daily run in UTC with the date and how far off it is, and the
    command that runs one now; or that the scheduler cannot be asked, and how to run one without it.

    ``schedule`` is the JSON of ``GET /schedule`` (``ScheduleOut``); ``error`` why there is none."""
    if schedule is None:
        reason = error or "The scheduler is not available."
        return f"{reason} No daily run is due without it; to run one here and now: {TRIGGER_LOCAL}."
    job = next((j for j in schedule.get("jobs", []) if j.get("job") == DAILY_JOB), None)
    if job is None:
        return f"The scheduler has no daily job. To run the daily loop now: {TRIGGER}."
    if dataset not in job.get("datasets", [dataset]):
        return f"The scheduler's daily loop does not include {dataset} (`DAILYML_SCHEDULER_DATASETS`)."
    when = _parse(job.get("next_run_time"))
    if when is None:
        return f"The daily run is not scheduled (the job is paused). To run it now: {TRIGGER}."
    moment = when.astimezone(UTC)
    return f"Next daily run: {moment:%Y-%m-%d %H:%M} UTC ({relative(moment - now)}). To run it now: {TRIGGER}."

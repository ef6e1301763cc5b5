"""The scheduler's metrics that come from the run log rather than from this process's own runs."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dailyml.db import as_utc
from dailyml.observability import metrics
from dailyml.tables import Run

runs_t: sa.Table = Run.__table__  # type: ignore[attr-defined]


def record_last_successes(engine: Engine) -> int:
    """Set ``dailyml_scheduler_last_success_timestamp_seconds`` from the run log, so that the time
    of the last successful daily run survives a restart. Returns how many series were set."""
    query = (
        sa.select(runs_t.c.job, runs_t.c.dataset, sa.func.max(runs_t.c.finished_at))
        .where(runs_t.c.status == "succeeded", runs_t.c.finished_at.is_not(None))
        .group_by(runs_t.c.job, runs_t.c.dataset)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    for job, dataset, finished in rows:
        at = as_utc(finished)
        if at is not None:
            metrics.SCHEDULER_LAST_SUCCESS.labels(job, dataset).set(at.timestamp())
    return len(rows)

"""The run log: the scheduler's only state, kept in the ``runs`` table.

Exactly-once is the database's job, not the scheduler's: a run is claimed by INSERTing its key
(the UNIQUE(job, dataset, scheduled_for) constraint lets one process win), and a failed or
abandoned run is re-claimed by a compare-and-set UPDATE on (status, attempts), so two schedulers,
a cron tick racing a manual trigger, or a retry racing a catch-up can never run it twice.

The process running a run renews its ``heartbeat_at`` every few seconds (``heartbeat``). A
``running`` run whose heartbeat is older than the staleness limit was left by a process that died
(``kill -9``, a lost node): it is taken over at once, instead of after the run timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from dailyml.db import as_utc, transaction
from dailyml.tables import Run
from dailyml.vocab import JobName, RunOutcome, RunStatus, RunTrigger


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to start a run: whether this caller owns it now, and why not if not."""

    run: Run
    owned: bool
    outcome: RunOutcome


def get_run(engine: Engine, job: JobName, dataset: str, scheduled_for: str) -> Run | None:
    """The run of a key, if any."""
    with transaction(engine) as session:
        return session.exec(
            select(Run).where(Run.job == job, Run.dataset == dataset, Run.scheduled_for == scheduled_for)
        ).first()


def has_runs(engine: Engine, job: JobName, dataset: str) -> bool:
    """Whether ``job`` has ever run (or tried to) for ``dataset``."""
    with transaction(engine) as session:
        return session.exec(select(Run.id).where(Run.job == job, Run.dataset == dataset).limit(1)).first() is not None


def claim(
    engine: Engine,
    job: JobName,
    dataset: str,
    scheduled_for: str,
    *,
    trigger: RunTrigger,
    now: datetime,
    stale_after: timedelta,
    max_attempts: int | None,
    heartbeat_stale_after: timedelta | None = None,
) -> Claim:
    """Try to become the one process that runs (job, dataset, scheduled_for) now.

    A new key is inserted as ``running``. An existing run is taken over only if it failed (and,
    for automatic triggers, has attempts left), or is ``running`` but its process died: no
    heartbeat for ``heartbeat_stale_after``, or running longer than ``stale_after`` whatever its
    heartbeat. A succeeded run is never redone.
    """
    try:
        with transaction(engine) as session:
            run = Run(
                job=job,
                dataset=dataset,
                scheduled_for=scheduled_for,
                trigger=trigger,
                started_at=now,
                heartbeat_at=now,
                counts={},
            )
            session.add(run)
        return Claim(run, True, "started")
    except IntegrityError:
        pass  # the key exists: decide from its row
    existing = get_run(engine, job, dataset, scheduled_for)
    if existing is None:  # deleted in between: extremely unlikely; treat as someone else's
        raise RuntimeError(f"run {job}/{dataset}/{scheduled_for} vanished while being claimed")
    if existing.status == "succeeded":
        return Claim(existing, False, "already_succeeded")
    if existing.status == "running" and is_alive(existing, now, stale_after, heartbeat_stale_after):
        return Claim(existing, False, "in_progress")
    if existing.status == "failed" and max_attempts is not None and existing.attempts >= max_attempts:
        return Claim(existing, False, "attempts_exhausted")
    with transaction(engine) as session:
        conn = session.connection()
        taken = conn.execute(
            sa.update(Run)
            .where(
                col(Run.id) == existing.id,
                col(Run.status) == existing.status,
                col(Run.attempts) == existing.attempts,
            )
            .values(
                status="running",
                attempts=existing.attempts + 1,
                trigger=trigger,
                started_at=now,
                heartbeat_at=now,
                finished_at=None,
                error=None,
            )
        ).rowcount
    current = get_run(engine, job, dataset, scheduled_for)
    assert current is not None
    if taken == 1:
        return Claim(current, True, "retried")
    return Claim(current, False, "already_succeeded" if current.status == "succeeded" else "in_progress")


def is_alive(run: Run, now: datetime, stale_after: timedelta, heartbeat_stale_after: timedelta | None) -> bool:
    """Whether a ``running`` run's process is still at it (see ``claim``)."""
    if now - as_utc(run.started_at) >= stale_after:  # type: ignore[operator]
        return False
    if heartbeat_stale_after is None or run.heartbeat_at is None:  # a run from before heartbeats
        return True
    return now - as_utc(run.heartbeat_at) < heartbeat_stale_after  # type: ignore[operator]


def heartbeat(engine: Engine, runs: list[tuple[int, int]], now: datetime) -> None:
    """Renew the heartbeat of the runs (id, attempt) this process still owns."""
    with transaction(engine) as session:
        conn = session.connection()
        for run_id, attempts in runs:
            conn.execute(
                sa.update(Run)
                .where(col(Run.id) == run_id, col(Run.attempts) == attempts, col(Run.status) == "running")
                .values(heartbeat_at=now)
            )


def save_counts(engine: Engine, run: Run, counts: dict[str, Any]) -> None:
    """Record progress of a run this process owns (kept even if the run later fails)."""
    with transaction(engine) as session:
        session.connection().execute(
            sa.update(Run)
            .where(col(Run.id) == run.id, col(Run.attempts) == run.attempts, col(Run.status) == "running")
            .values(counts=dict(counts))
        )


def finish(
    engine: Engine, run: Run, *, status: RunStatus, counts: dict[str, Any], error: str | None, now: datetime
) -> bool:
    """Close a run this process owns; False when another process took it over meanwhile."""
    with transaction(engine) as session:
        conn = session.connection()
        done = conn.execute(
            sa.update(Run)
            .where(col(Run.id) == run.id, col(Run.attempts) == run.attempts, col(Run.status) == "running")
            .values(status=status, counts=dict(counts), error=error, finished_at=now)
        ).rowcount
    return bool(done == 1)


def list_runs(
    engine: Engine,
    *,
    job: JobName | None = None,
    dataset: str | None = None,
    status: RunStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[Run]]:
    """(total matching, one page newest first) of the run log."""
    conditions = []
    if job:
        conditions.append(col(Run.job) == job)
    if dataset:
        conditions.append(col(Run.dataset) == dataset)
    if status:
        conditions.append(col(Run.status) == status)
    with transaction(engine) as session:
        total = session.exec(select(func.count()).select_from(Run).where(*conditions)).one()
        rows = session.exec(
            select(Run)
            .where(*conditions)
            .order_by(col(Run.scheduled_for).desc(), col(Run.started_at).desc(), col(Run.id).desc())
            .offset(offset)
            .limit(limit)
        ).all()
    return int(total), list(rows)

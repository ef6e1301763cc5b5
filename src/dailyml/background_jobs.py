"""Background jobs with progress, recorded in the ``jobs`` table so any replica can report them.

A job runs in a thread of the process that accepted it; its row says queued/running/succeeded/
failed, a progress fraction and a message, and the result or the error.

A process that dies mid-job (``kill -9``, OOM, a node lost) cannot say so. So the runner renews
``heartbeat_at`` of its jobs every ``heartbeat_seconds``, and every live runner (each predictor
and generator replica, the restarted process among them) marks failed any queued or running job
whose heartbeat is older than ``stale_seconds``: an interrupted training or fit is failed within
about ``stale_seconds`` of its process's death, never left ``running``. A job row without a
heartbeat was left by a version before heartbeats and is failed at once.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from dailyml.db import transaction
from dailyml.errors import NotFoundError
from dailyml.observability import metrics
from dailyml.tables import Job, utcnow
from dailyml.vocab import JobStatus

log = logging.getLogger("dailyml.jobs")

# A job body gets a progress callback (fraction 0..1, message) and returns its result, a model
# stored as JSON on the job's row.
Progress = Callable[[float, str], None]
JobBody = Callable[[Progress], BaseModel]


class JobRunner:
    """Starts job bodies in daemon threads and keeps their rows current."""

    def __init__(
        self,
        engine: Engine,
        *,
        min_update_seconds: float = 0.5,
        heartbeat_seconds: float = 5.0,
        stale_seconds: float = 30.0,
    ) -> None:
        self.engine = engine
        self.min_update_seconds = min_update_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.stale_seconds = stale_seconds
        self._threads: dict[uuid.UUID, threading.Thread] = {}
        self._stop = threading.Event()
        self._heart: threading.Thread | None = None

    # -- liveness -----------------------------------------------------------------------------
    def start(self) -> int:
        """Fail the jobs of dead processes now, then keep this runner's jobs alive and look for dead
        ones every ``heartbeat_seconds``. Returns how many were failed now."""
        failed = self._reap()
        self._heart = threading.Thread(target=self._beat_loop, name="job-heartbeat", daemon=True)
        self._heart.start()
        return failed

    def stop(self) -> None:
        """Stop the heartbeat thread (waiting up to 5 s); running job threads are not stopped."""
        self._stop.set()
        if self._heart is not None:
            self._heart.join(timeout=5)

    def live_jobs(self) -> list[uuid.UUID]:
        """The jobs whose thread in this process still runs."""
        for job_id in [j for j, t in self._threads.items() if not t.is_alive()]:
            self._threads.pop(job_id, None)
        return list(self._threads)

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            self.beat()
            self._reap()

    def beat(self) -> None:
        """Renew the heartbeat of this process's running jobs."""
        live = self.live_jobs()
        if not live:
            return
        try:
            with transaction(self.engine) as session:
                session.connection().execute(sa.update(Job).where(col(Job.id).in_(live)).values(heartbeat_at=utcnow()))
        except SQLAlchemyError as exc:  # the database is away: the next beat tries again
            log.warning("could not renew the heartbeat of %d job(s): %s", len(live), exc)

    def _reap(self) -> int:
        try:
            return fail_stale_jobs(self.engine, self.stale_seconds, keep=self.live_jobs())
        except SQLAlchemyError as exc:
            log.warning("could not look for jobs of stopped processes: %s", exc)
            return 0

    # -- jobs -----------------------------------------------------------------------------------
    def submit(self, kind: str, dataset: str, params: dict[str, Any], body: JobBody) -> Job:
        """Record a queued job and start it; returns the row (its ``id`` is the job id)."""
        with transaction(self.engine) as session:
            job = Job(kind=kind, dataset=dataset, params=params, heartbeat_at=utcnow())
            session.add(job)
        # The job runs under the request id of the request that started it (its logs say so).
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run, args=(self._run, job.id, body, kind, dataset), name=f"job-{kind}-{dataset}", daemon=True
        )
        self._threads[job.id] = thread
        thread.start()
        return job

    def _update(self, job_id: uuid.UUID, **values: Any) -> None:
        with transaction(self.engine) as session:
            job = session.get(Job, job_id)
            if job is not None:
                for key, value in values.items():
                    setattr(job, key, value)
                session.add(job)

    def _run(self, job_id: uuid.UUID, body: JobBody, kind: str = "", dataset: str = "") -> None:
        self._update(job_id, status="running", started_at=utcnow(), message="started")
        started = time.monotonic()
        last = 0.0

        def progress(fraction: float, message: str) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= self.min_update_seconds or fraction >= 1.0:
                last = now
                self._update(job_id, progress=max(0.0, min(1.0, fraction)), message=message[:512])

        try:
            result = body(progress)
        except Exception as exc:
            log.exception("job %s failed", job_id, extra={"kind": kind, "dataset": dataset, "job_id": str(job_id)})
            self._count(kind, dataset, "failed", started)
            self._update(
                job_id,
                status="failed",
                finished_at=utcnow(),
                message=f"failed: {exc}"[:512],
                error="".join(traceback.format_exception_only(exc)).strip(),
            )
            return
        self._update(
            job_id,
            status="succeeded",
            progress=1.0,
            finished_at=utcnow(),
            message="done",
            result=result.model_dump(mode="json"),
        )
        self._count(kind, dataset, "succeeded", started)

    @staticmethod
    def _count(kind: str, dataset: str, status: JobStatus, started: float) -> None:
        metrics.JOBS.labels(kind, dataset, status).inc()
        metrics.JOB_DURATION.labels(kind, dataset).observe(time.monotonic() - started)
        log.info("%s job %s", kind, status, extra={"kind": kind, "dataset": dataset, "status": status})

    def wait(self, job_id: uuid.UUID, timeout: float | None = None) -> None:
        """Block until a job started by this runner ends (for the CLI and tests)."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)


def get_job(engine: Engine, job_id: uuid.UUID) -> Job:
    """A job row by id (NotFoundError when unknown)."""
    with transaction(engine) as session:
        job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"no job {job_id}")
    return job


def list_jobs(engine: Engine, *, kind: str | None = None, dataset: str | None = None, limit: int = 50) -> list[Job]:
    """Recent jobs, newest first."""
    query = select(Job).order_by(col(Job.created_at).desc()).limit(limit)
    if kind:
        query = query.where(Job.kind == kind)
    if dataset:
        query = query.where(Job.dataset == dataset)
    with transaction(engine) as session:
        return list(session.exec(query))


STOPPED = "the process running this job stopped before it finished"


def fail_stale_jobs(engine: Engine, stale_seconds: float, *, keep: list[uuid.UUID] | None = None) -> int:
    """Mark failed every queued or running job whose heartbeat is older than ``stale_seconds``
    (or missing), except ``keep`` (the caller's own live jobs); returns how many."""
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_seconds)
    stale = sa.or_(col(Job.heartbeat_at).is_(None), col(Job.heartbeat_at) < cutoff)
    query = sa.update(Job).where(col(Job.status).in_(("queued", "running")), stale)
    if keep:
        query = query.where(col(Job.id).not_in(keep))
    with transaction(engine) as session:
        stopped = query.values(status="failed", finished_at=now, error=STOPPED, message=STOPPED)
        failed = session.connection().execute(stopped).rowcount
    if failed:
        log.warning("marked %d job(s) failed: their process stopped (no heartbeat for %gs)", failed, stale_seconds)
    return int(failed or 0)

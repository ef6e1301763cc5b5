"""Background jobs with progress, recorded in the ``jobs`` table so any replica can report them.

A job runs in a thread of the process that accepted it; its row says queued/running/succeeded/
failed, a progress fraction and a message, and the result or the error. A process that dies
mid-job leaves it ``running``: ``fail_orphans`` marks such rows failed at the next start.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from dailyml.db import session_scope
from dailyml.errors import NotFoundError
from dailyml.observability import metrics
from dailyml.tables import Job, utcnow

log = logging.getLogger("dailyml.jobs")

# A job body gets a progress callback (fraction 0..1, message) and returns its JSON result.
Progress = Callable[[float, str], None]
JobBody = Callable[[Progress], dict[str, Any]]


class JobRunner:
    """Starts job bodies in daemon threads and keeps their rows current."""

    def __init__(self, engine: Engine, *, min_update_seconds: float = 0.5) -> None:
        self.engine = engine
        self.min_update_seconds = min_update_seconds
        self._threads: dict[uuid.UUID, threading.Thread] = {}

    def submit(self, kind: str, dataset: str, params: dict[str, Any], body: JobBody) -> Job:
        """Record a queued job and start it; returns the row (its ``id`` is the job id)."""
        with session_scope(self.engine) as session:
            job = Job(kind=kind, dataset=dataset, params=params)
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
        with session_scope(self.engine) as session:
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
        self._update(job_id, status="succeeded", progress=1.0, finished_at=utcnow(), message="done", result=result)
        self._count(kind, dataset, "succeeded", started)

    @staticmethod
    def _count(kind: str, dataset: str, status: str, started: float) -> None:
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
    with session_scope(engine) as session:
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
    with session_scope(engine) as session:
        return list(session.exec(query))


def fail_orphans(engine: Engine, kinds: tuple[str, ...]) -> int:
    """Mark jobs of ``kinds`` left queued/running by a dead process as failed; returns how many.

    Call at start-up of the only process kind that runs such jobs.
    """
    with session_scope(engine) as session:
        rows = list(
            session.exec(select(Job).where(col(Job.kind).in_(kinds), col(Job.status).in_(("queued", "running"))))
        )
        for job in rows:
            job.status, job.finished_at = "failed", utcnow()
            job.error = job.message = "the process running this job stopped before it finished"
            session.add(job)
        return len(rows)

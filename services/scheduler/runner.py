"""Runs jobs exactly once per (job, dataset, scheduled date), whoever triggers them.

Cron fires, the catch-up at start, the retry tick and manual triggers (``POST /runs``,
``dailyml run``) all go through :meth:`Runner.execute`: compute the run key of now, claim it in
the database, run the job's HTTP calls, record the outcome.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from dailyml.clients.predictor import PredictorClient
from dailyml.clock import Clock
from dailyml.clock import now as utc_clock  # the process clock: the system's, or the tests' shifted one
from dailyml.contracts.scheduler import RunOut
from dailyml.errors import ConflictError, InvalidInputError
from dailyml.observability import metrics
from dailyml.observability.context import current_request_id, request_scope
from dailyml.tables import Run
from dailyml.vocab import JobName, RunOutcome, RunStatus, RunTrigger
from services.scheduler import runlog
from services.scheduler.config import SchedulerSettings
from services.scheduler.periods import Cron
from services.scheduler.scheduled_jobs import JOB_BODIES, Generator, JobContext, JobFailed, Stopped

log = logging.getLogger("dailyml.scheduler")


class Runner:
    """The one path from "run job X now" to a recorded run."""

    def __init__(
        self,
        engine: Engine,
        settings: SchedulerSettings,
        predictor: PredictorClient,
        generator: Generator,
        *,
        clock: Clock = utc_clock,
        heartbeat_seconds: float = 5.0,
        stale_seconds: float = 30.0,
    ) -> None:
        self.engine, self.settings, self.clock = engine, settings, clock
        self.predictor, self.generator = predictor, generator
        self.crons = {job: Cron(settings.cron(job), settings.timezone) for job in JOB_BODIES}
        self.stopping = threading.Event()
        self.heartbeat_seconds, self.stale_seconds = heartbeat_seconds, stale_seconds
        self._owned: dict[int, int] = {}  # run id -> attempt, of the runs this process is running
        self._owned_lock = threading.Lock()
        self._heart: threading.Thread | None = None

    # -- liveness -----------------------------------------------------------------------------
    def start_heartbeat(self) -> None:
        """Renew the heartbeat of this process's runs every ``heartbeat_seconds`` (until ``stop``)."""
        self._heart = threading.Thread(target=self._beat_loop, name="run-heartbeat", daemon=True)
        self._heart.start()

    def _beat_loop(self) -> None:
        while not self.stopping.wait(self.heartbeat_seconds):
            with self._owned_lock:
                owned = list(self._owned.items())
            if not owned:
                continue
            try:
                runlog.heartbeat(self.engine, owned, self.clock())
            except Exception as exc:  # the database is away: the next beat tries again
                log.warning("could not renew the heartbeat of %d run(s): %s", len(owned), exc)

    # -- keys ---------------------------------------------------------------------------------
    def current_period(self, job: JobName, now: datetime | None = None) -> tuple[datetime, str] | None:
        """(latest fire time, run key) of ``job`` at ``now``; None if it never fired in a year."""
        cron = self.crons[job]
        fire = cron.latest_fire(now or self.clock())
        return None if fire is None else (fire, cron.run_key(fire))

    def _datasets(self, dataset: str | None) -> list[str]:
        if dataset is None:
            return list(self.settings.datasets)
        if dataset not in self.settings.datasets:
            raise InvalidInputError(
                f"dataset: {dataset!r} is not scheduled (DAILYML_SCHEDULER_DATASETS={self.settings.datasets})"
            )
        return [dataset]

    # -- triggers -----------------------------------------------------------------------------
    def run_scheduled(self, job: JobName) -> list[runlog.Claim]:
        """What a cron fire does: run the current period of ``job`` for every dataset."""
        return self.trigger(job, None, trigger="cron")

    def trigger(self, job: JobName, dataset: str | None, *, trigger: RunTrigger = "manual") -> list[runlog.Claim]:
        """Run ``job`` for the current period now, for one dataset or all, one after the other."""
        period = self.current_period(job)
        if period is None:
            raise ConflictError(f"{job} has no fire time in the past year: nothing is due")
        _, key = period
        automatic = trigger != "manual"
        return [self.execute(job, d, key, trigger=trigger, automatic=automatic) for d in self._datasets(dataset)]

    def tick(self) -> list[runlog.Claim]:
        """Catch up missed runs and retry failed ones, for the current period of every job.

        A period with no run is caught up if its fire time is within the misfire grace, or, for
        the daily loop of a dataset that has never had one (a first start), whenever it fired:
        a new installation shows data at once instead of after the next fire. A failed run is
        retried while it has attempts left; a succeeded run is left alone.
        """
        claims: list[runlog.Claim] = []
        now = self.clock()
        grace = timedelta(hours=self.settings.misfire_grace_hours)
        for job in JOB_BODIES:
            period = self.current_period(job, now)
            if period is None:
                continue
            fire, key = period
            for dataset in self.settings.datasets:
                if self.stopping.is_set():
                    return claims
                existing = runlog.get_run(self.engine, job, dataset, key)
                first = existing is None and self._first_start(job, dataset)
                if existing is None and now - fire > grace and not first:
                    continue  # missed long ago: not caught up (the next fire will run)
                if existing is not None and existing.status == "succeeded":
                    continue
                trigger: RunTrigger = "first" if first else "catchup" if existing is None else "retry"
                claims.append(self.execute(job, dataset, key, trigger=trigger, automatic=True))
        claims = self._take_over_dying(claims)
        done = [(c.run.job, c.run.dataset, c.run.scheduled_for, c.outcome, c.run.status) for c in claims]
        log.info("tick done: %s", done or "nothing due")
        return claims

    def _take_over_dying(self, claims: list[runlog.Claim]) -> list[runlog.Claim]:
        """Runs found in progress elsewhere are looked at again once their heartbeat would be stale.

        After a ``kill -9`` the restarted scheduler finds its previous life's run still
        ``running`` with a recent heartbeat; it waits until that heartbeat is ``stale_seconds``
        old, and takes the run over if it was not renewed (a live owner renews it and keeps it).
        """
        with self._owned_lock:
            mine = set(self._owned)
        waiting = [
            c for c in claims if c.outcome == "in_progress" and c.run.heartbeat_at is not None and c.run.id not in mine
        ]
        if not waiting:
            return claims
        from dailyml.db import as_utc

        beats = [as_utc(c.run.heartbeat_at) for c in waiting]
        latest = max(b for b in beats if b is not None)
        delay = (latest + timedelta(seconds=self.stale_seconds) - self.clock()).total_seconds()
        delay = min(max(delay, 0.0), self.stale_seconds) + 0.1
        log.info("%d run(s) in progress elsewhere: looking again in %.1fs", len(waiting), delay)
        if self.stopping.wait(delay):
            return claims
        again = {
            id(c): self.execute(c.run.job, c.run.dataset, c.run.scheduled_for, trigger="retry", automatic=True)
            for c in waiting
        }
        return [again.get(id(c), c) for c in claims]

    def _first_start(self, job: JobName, dataset: str) -> bool:
        """The daily loop has never run for ``dataset`` and the settings ask to run it at once."""
        return job == "daily" and self.settings.run_on_first_start and not runlog.has_runs(self.engine, job, dataset)

    # -- the one path -------------------------------------------------------------------------
    def execute(self, job: JobName, dataset: str, key: str, *, trigger: RunTrigger, automatic: bool) -> runlog.Claim:
        """Claim (job, dataset, key) and run it if this caller won; record success or the error.

        The run's calls carry one request id: the triggering request's (``POST /runs``), or a
        fresh one for a cron fire, so a run can be followed through every service's log.
        """
        with request_scope(current_request_id()):
            return self._execute(job, dataset, key, trigger=trigger, automatic=automatic)

    def _execute(self, job: JobName, dataset: str, key: str, *, trigger: RunTrigger, automatic: bool) -> runlog.Claim:
        fields = {"job": job, "dataset": dataset, "run_key": key, "trigger": trigger}
        claim = runlog.claim(
            self.engine,
            job,
            dataset,
            key,
            trigger=trigger,
            now=self.clock(),
            stale_after=timedelta(minutes=self.settings.run_timeout_minutes),
            max_attempts=self.settings.max_attempts if automatic else None,
            heartbeat_stale_after=timedelta(seconds=self.stale_seconds),
        )
        if not claim.owned:
            log.info("%s %s %s: %s, nothing to do", job, dataset, key, claim.outcome, extra=fields)
            metrics.SCHEDULER_RUNS.labels(job, dataset, claim.outcome).inc()
            return claim
        run = claim.run
        counts: dict[str, Any] = dict(run.counts or {})
        log.info("%s %s %s: attempt %d (%s)", job, dataset, key, run.attempts, trigger, extra=fields)
        started = time.monotonic()
        ctx = JobContext(
            predictor=self.predictor,
            generator=self.generator,
            settings=self.settings,
            stopping=self.stopping,
            save=lambda c: runlog.save_counts(self.engine, run, c),
        )
        status: RunStatus = "succeeded"
        error: str | None = None
        with self._owned_lock:
            self._owned[run.id or 0] = run.attempts
        try:
            JOB_BODIES[job](ctx, dataset, key, counts)
        except (JobFailed, Stopped) as exc:
            status, error = "failed", str(exc)
        except Exception as exc:  # a bug or an unexpected answer: record it, never lose the run
            log.exception("%s %s %s crashed", job, dataset, key)
            status, error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            with self._owned_lock:
                self._owned.pop(run.id or 0, None)
        seconds = time.monotonic() - started
        done = {**fields, "status": status, "duration_ms": round(seconds * 1000, 1)}
        if error:
            log.warning("%s %s %s failed (attempt %d): %s", job, dataset, key, run.attempts, error, extra=done)
        else:
            log.info("%s %s %s succeeded: %s", job, dataset, key, counts, extra=done)
        # The work is done: the database being away now must not leave the run "running" until
        # run_timeout_minutes (it would be taken over and redone); record it once it is back.
        self._when_database_answers(
            "record the run's outcome",
            lambda: runlog.finish(self.engine, run, status=status, counts=counts, error=error, now=self.clock()),
        )
        metrics.SCHEDULER_RUNS.labels(job, dataset, status).inc()
        metrics.SCHEDULER_RUN_DURATION.labels(job, dataset).observe(seconds)
        if status == "succeeded":
            metrics.SCHEDULER_LAST_SUCCESS.labels(job, dataset).set(time.time())
        final = runlog.get_run(self.engine, job, dataset, key)
        return runlog.Claim(final or run, True, claim.outcome)

    def _when_database_answers(self, what: str, write: Any) -> Any:
        """``write()``, retried with backoff while the database is unavailable, for at most
        ``run_timeout_minutes`` (after that the run would be taken over anyway) or until stopped."""
        delay = self.settings.backoff_seconds
        deadline = time.monotonic() + self.settings.run_timeout_minutes * 60
        while True:
            try:
                return write()
            except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
                if self.stopping.is_set() or time.monotonic() + delay > deadline:
                    raise
                log.warning("the database is unavailable (%s); will %s in %.1f s", type(exc).__name__, what, delay)
                self.stopping.wait(delay)
                delay = min(delay * 2, self.settings.backoff_max_seconds)

    def stop(self) -> None:
        self.stopping.set()


def run_out(run: Run, outcome: RunOutcome | None = None) -> RunOut:
    """A run row as the API answers it (timestamps UTC-aware), with what a trigger did with it."""
    return RunOut.model_validate({**run.model_dump(), "outcome": outcome})

"""The scheduler service: APScheduler cron jobs plus a small API for the run log.

Jobs (``scheduled_jobs.py``) only call the predictor and the generator over HTTP. The cron table is here:
the daily loop, the weekly retraining, and a retry tick that catches up a missed run (once, at
start-up or later) and retries failed ones. Exactly-once is enforced by the database
(``runlog.py``), so a second scheduler process started by mistake does nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import ExitStack, asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from dailyml.clients.predictor import PredictorClient
from dailyml.clock import Clock, apscheduler_clock, is_shifted
from dailyml.clock import now as utc_clock
from dailyml.contracts.common import MAX_DB_INT
from dailyml.contracts.scheduler import DatasetName, RunPage, ScheduledJobOut, ScheduleOut, TriggerRequest
from dailyml.db import create_db_engine
from dailyml.errors import InvalidInputError
from dailyml.settings import DEFAULT_PORTS, Settings, get_settings
from dailyml.vocab import JobName, RunStatus
from dailyml.web import (
    READINESS_RESPONSES,
    admin_guard,
    answers,
    database_status,
    error_responses,
    from_state,
    service_app,
)
from services.scheduler import runlog
from services.scheduler.config import SchedulerSettings, get_scheduler_settings, parse_cron
from services.scheduler.runner import Runner, run_out
from services.scheduler.scheduled_jobs import JOB_BODIES, Generator
from services.scheduler.telemetry import record_last_successes

log = logging.getLogger("dailyml.scheduler")


def _generator_client(settings: Settings, timeout: float) -> Generator:
    from dailyml.clients.generator import GeneratorClient

    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    return GeneratorClient(settings.generator_url, admin_token=token, timeout=timeout)


def _start_scheduler(runner: Runner, cfg: SchedulerSettings, clock: Clock) -> Any:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler = BackgroundScheduler(
        timezone=cfg.timezone,
        job_defaults={
            "coalesce": True,  # several missed fires run once
            "max_instances": 1,
            "misfire_grace_time": int(cfg.misfire_grace_hours * 3600),
        },
    )
    for job in JOB_BODIES:
        scheduler.add_job(
            runner.run_scheduled, parse_cron(cfg.cron(job), cfg.timezone), args=[job], id=job, name=f"{job} loop"
        )
    # The tick's first run is now: catch-up after downtime happens at start-up.
    scheduler.add_job(
        runner.tick,
        IntervalTrigger(seconds=cfg.retry_interval_seconds, timezone=cfg.timezone, start_date=clock()),
        id="tick",
        name="catch-up and retry",
        next_run_time=clock(),
    )
    scheduler.start()
    return scheduler


@answers(503)
def get_runner(request: Request) -> Runner:
    return request.app.state.runner  # type: ignore[no-any-return]


RunnerDep = Annotated[Runner, Depends(get_runner)]
EngineDep = Annotated[Engine, Depends(from_state("engine", 503))]


def create_app(
    settings: Settings | None = None,
    scheduler_settings: SchedulerSettings | None = None,
    *,
    clock: Clock = utc_clock,
    generator: Generator | None = None,
    predictor: PredictorClient | None = None,
) -> FastAPI:
    """A scheduler app. Engine, clients and the APScheduler thread start in the lifespan.

    ``generator`` and ``predictor`` replace the HTTP clients of the peer services (tests).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = settings or get_settings()
        sched_cfg = scheduler_settings or get_scheduler_settings()
        engine = create_db_engine(cfg.resolved_database_url)
        token = cfg.admin_token.get_secret_value() if cfg.admin_token else None
        if token is None:
            log.warning("DAILYML_ADMIN_TOKEN is not set: the jobs' admin calls will be refused")
        pred = predictor or PredictorClient(
            cfg.predictor_url, admin_token=token, timeout=sched_cfg.http_timeout_seconds
        )
        gen = generator or _generator_client(cfg, sched_cfg.http_timeout_seconds)
        runner = Runner(
            engine,
            sched_cfg,
            pred,
            gen,
            clock=clock,
            heartbeat_seconds=cfg.job_heartbeat_seconds,
            stale_seconds=cfg.job_stale_seconds,
        )
        runner.start_heartbeat()
        app.state.settings, app.state.scheduler_settings = cfg, sched_cfg
        app.state.engine, app.state.runner = engine, runner
        await run_in_threadpool(record_last_successes, engine)
        stack = ExitStack()
        if clock is not utc_clock or is_shifted():
            stack.enter_context(apscheduler_clock(clock))  # the cron thread on the runner's clock
        app.state.scheduler = _start_scheduler(runner, sched_cfg, clock)
        log.info(
            "scheduler up: daily %r, retrain %r (%s), predictor %s, generator %s",
            sched_cfg.effective_daily_cron,
            sched_cfg.retrain_cron,
            sched_cfg.timezone,
            cfg.predictor_url,
            cfg.generator_url,
        )
        try:
            yield
        finally:
            runner.stop()
            app.state.scheduler.shutdown(wait=False)
            stack.close()
            if predictor is None:
                pred.close()
            if hasattr(gen, "close"):
                gen.close()
            engine.dispose()

    app = service_app(
        "scheduler",
        "The daily loop (generate, then predict) and retraining with a promotion gate; the run log.",
        lifespan,
    )
    admin = admin_guard(from_state("settings"))

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process is up (no dependencies checked)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses=READINESS_RESPONSES)
    def readyz(request: Request) -> JSONResponse:
        """503 until the database answers (the run log is readable) and the scheduler is running."""
        checks: dict[str, Any] = {"database": database_status(request.app.state.engine, "SELECT count(*) FROM runs")}
        checks["scheduler"] = "running" if request.app.state.scheduler.running else "stopped"
        ready = checks["database"] == "ok" and checks["scheduler"] == "running"
        return JSONResponse(
            status_code=200 if ready else 503, content={"status": "ready" if ready else "not_ready", **checks}
        )

    @app.get("/runs", response_model=RunPage, tags=["runs"])
    def list_runs(
        engine: EngineDep,
        job: JobName | None = None,
        dataset: DatasetName | None = None,
        status: RunStatus | None = None,
        limit: int = Query(50, ge=1, le=500),
        offset: int = Query(0, ge=0, le=MAX_DB_INT),
    ) -> RunPage:
        """The run log, newest first: start, end, status, attempts, counts and error of each run."""
        total, rows = runlog.list_runs(engine, job=job, dataset=dataset, status=status, limit=limit, offset=offset)
        return RunPage(total=total, items=[run_out(r) for r in rows])

    @app.post("/runs", response_model=RunPage, tags=["runs"], dependencies=[admin], responses=error_responses(409))
    def trigger(body: TriggerRequest, runner: RunnerDep) -> RunPage:
        """Run a job now for the current period, through the same path as its cron (admin).

        Waits for the runs to end. A run already done for this period is not redone: its
        ``outcome`` says ``already_succeeded``.
        """
        if body.dataset is not None and body.dataset not in runner.settings.datasets:
            raise InvalidInputError(
                f"dataset: must be one of the scheduled datasets {runner.settings.datasets}",
                detail=[
                    {
                        "field": "dataset",
                        "loc": ["dataset"],
                        "rule": "enum",
                        "message": f"{body.dataset!r} is not scheduled",
                    }
                ],
            )
        claims = runner.trigger(body.job, body.dataset, trigger="manual")
        items = [run_out(c.run, c.outcome) for c in claims]
        return RunPage(total=len(items), items=items)

    @app.get("/schedule", response_model=ScheduleOut, tags=["runs"])
    def schedule(runner: RunnerDep, request: Request) -> ScheduleOut:
        """The jobs, their cron expressions, time zone and next run time."""
        cfg: SchedulerSettings = runner.settings
        jobs = []
        for job in JOB_BODIES:
            aps_job = request.app.state.scheduler.get_job(job)
            period = runner.current_period(job)
            next_run: datetime | None = aps_job.next_run_time if aps_job else None
            jobs.append(
                ScheduledJobOut(
                    job=job,
                    cron=cfg.cron(job),
                    timezone=cfg.timezone,
                    next_run_time=next_run,
                    current_period=period[1] if period else None,
                    datasets=list(cfg.datasets),
                )
            )
        return ScheduleOut(
            timezone=cfg.timezone,
            fast=cfg.fast,
            misfire_grace_hours=cfg.misfire_grace_hours,
            promotion_margin=cfg.promotion_margin,
            retry_interval_seconds=cfg.retry_interval_seconds,
            jobs=jobs,
        )

    return app


def main(host: str = "127.0.0.1", port: int = DEFAULT_PORTS["scheduler"]) -> None:
    import uvicorn

    from dailyml.observability.logs import configure_logging

    configure_logging("scheduler")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    uvicorn.run(create_app(), host=host, port=port, **get_settings().server_options())

"""``dailyml run daily|retrain [--dataset D]``: trigger a scheduled job by hand.

By default it asks the running scheduler (``POST /runs`` at ``DAILYML_SCHEDULER_URL``), which
runs it exactly as its cron would. ``--local`` runs the same code path in this process instead
(for when no scheduler is running); the database still guarantees one run per period.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from dailyml.vocab import JOB_NAMES, JobName

if TYPE_CHECKING:
    from dailyml.contracts.scheduler import RunOut

EXIT_FAILED = 1


def add_run_command(sub: Any) -> None:
    """Register ``run`` on the ``dailyml`` parser (an entry point of the ``dailyml.commands`` group)."""
    from dailyml.datasets import DATASET_NAMES

    p = sub.add_parser("run", help="run the daily loop or retraining now (same path as the cron)")
    p.add_argument("job", choices=JOB_NAMES)
    p.add_argument("--dataset", choices=DATASET_NAMES, default=None, help="one dataset (default: all scheduled)")
    p.add_argument("--local", action="store_true", help="run in this process instead of asking the scheduler")
    p.set_defaults(func=cmd_run)


def _local(job: JobName, dataset: str | None) -> list[RunOut]:
    import logging

    from dailyml.clients.predictor import PredictorClient
    from dailyml.db import create_db_engine
    from dailyml.settings import get_settings
    from services.scheduler.config import get_scheduler_settings
    from services.scheduler.main import _generator_client
    from services.scheduler.runner import Runner, run_out

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings, sched = get_settings(), get_scheduler_settings()
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    engine = create_db_engine(settings.resolved_database_url)
    predictor = PredictorClient(settings.predictor_url, admin_token=token, timeout=sched.http_timeout_seconds)
    runner = Runner(engine, sched, predictor, _generator_client(settings, sched.http_timeout_seconds))
    try:
        return [run_out(c.run, c.outcome) for c in runner.trigger(job, dataset, trigger="manual")]
    finally:
        engine.dispose()


def _remote(job: JobName, dataset: str | None) -> list[RunOut]:
    from dailyml.clients.scheduler import SchedulerClient
    from dailyml.settings import get_settings

    settings = get_settings()
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    client = SchedulerClient(settings.scheduler_url, admin_token=token)
    try:
        return client.trigger(job, dataset).items
    finally:
        client.close()


def cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from dailyml.clients.base import ServiceError, ServiceUnavailable

    console = Console()
    try:
        runs = _local(args.job, args.dataset) if args.local else _remote(args.job, args.dataset)
    except ServiceUnavailable as exc:
        console.print(f"[red]error:[/red] {exc.message}; start it (dailyml serve scheduler) or use --local")
        return EXIT_FAILED
    except ServiceError as exc:
        console.print(f"[red]error:[/red] the scheduler refused: {exc.message}")
        return EXIT_FAILED
    table = Table(title=f"{args.job} runs")
    for column in ("dataset", "scheduled for", "outcome", "status", "attempts", "counts", "error"):
        table.add_column(column)
    for run in runs:
        counts = ", ".join(f"{k}={v}" for k, v in run.counts.items() if k not in ("reason", "idempotency_key"))
        table.add_row(
            run.dataset, run.scheduled_for, str(run.outcome), run.status, str(run.attempts), counts, run.error or ""
        )
    console.print(table)
    for run in runs:
        if run.counts.get("reason"):
            console.print(f"{run.dataset}: {run.counts['reason']}")
    return EXIT_FAILED if any(r.status == "failed" for r in runs) else 0

"""The scheduler as real processes: two of them by mistake, a generator outage, a restart,
the run log API and ``dailyml run``, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from dailyml.clients.scheduler import SchedulerClient
from dailyml.contracts.scheduler import RunOut, RunPage
from dailyml.tables import GenerationRequest, Sample
from services.scheduler.periods import Cron
from tests.scheduler.conftest import Stack
from tests.support import clock
from tests.support.credentials import ADMIN_TOKEN
from tests.support.databases import Database
from tests.support.net import free_port, wait_http
from tests.support.processes import start_service
from tests.support.scheduling import scheduler_env, todays_run_key
from tests.support.waiting import wait_until

pytestmark = pytest.mark.processes

SAMPLES_PER_DAY = 2


def _synthetic_count(db: Database) -> dict[str, int]:
    query = sa.select(Sample.dataset, sa.func.count()).where(Sample.source == "synthetic").group_by(Sample.dataset)
    with db.engine.connect() as conn:
        return {"iris": 0, "wine": 0, **{d: int(n) for d, n in conn.execute(query)}}


def _of_day(page: RunPage, day: str) -> list[RunOut]:
    return [r for r in page.items if r.scheduled_for == day]


def test_two_schedulers_through_a_generator_outage_and_a_restart_run_each_day_once(
    stack: Stack, tmp_path: Path
) -> None:
    db, logs = stack.db, tmp_path / "logs"
    env = scheduler_env(db, stack.predictor.url, stack.generator_switch.url, SAMPLES_PER_DAY)
    before = _synthetic_count(db)
    today = todays_run_key(env)
    stack.generator_switch.off()  # the generator is down

    # Two schedulers started by mistake, at once, while the generator is down.
    schedulers = [start_service("scheduler", env, logs, ready_path=None) for _ in range(2)]
    try:
        for s in schedulers:
            wait_http(s.url + "/readyz", timeout=60)
        a, b = (SchedulerClient(s.url, admin_token=ADMIN_TOKEN) for s in schedulers)

        def daily(client: SchedulerClient, status: str | None = None) -> list[RunOut]:
            return _of_day(client.runs(job="daily", status=status, limit=500), today)

        failed: list[RunOut] = []

        def both_failed() -> bool:
            failed[:] = daily(a, "failed")  # one snapshot: a retry may be running a moment later
            return len(failed) == 2

        wait_until(both_failed, 30, "the outage to fail both runs")
        assert all("generate" in (r.error or "") and "cannot reach" in (r.error or "") for r in failed)
        assert _synthetic_count(db) == before

        # The generator comes back: the next ticks retry and the day's runs succeed, once.
        stack.generator_switch.on()
        wait_until(lambda: len(daily(b, "succeeded")) == 2, 60, "the retries to succeed")
        runs = daily(a)
        assert len(runs) == 2
        for run in runs:
            assert (run.status, run.error, run.trigger) == ("succeeded", None, "retry")
            assert run.attempts >= 2 and run.counts["generated"] == SAMPLES_PER_DAY
        assert _synthetic_count(db) == {d: n + SAMPLES_PER_DAY for d, n in before.items()}

        # Manual triggers on both schedulers at once do nothing more.
        outcomes: list[str] = []

        def trigger(client: SchedulerClient) -> None:
            outcomes.extend(r.outcome or "" for r in client.trigger("daily").items)

        threads = [threading.Thread(target=trigger, args=(c,)) for c in (a, b, a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes == ["already_succeeded"] * 8

        # `dailyml run` goes through the same path.
        cli = subprocess.run(
            [sys.executable, "-m", "dailyml.cli", "run", "daily", "--dataset", "iris"],
            env={**os.environ, **env, "DAILYML_SCHEDULER_URL": schedulers[0].url, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        assert "already_succeeded" in cli.stdout and "iris" in cli.stdout

        # Restarted: the day is done, nothing is caught up twice.
        for s in schedulers:
            s.stop()
        restarted = start_service("scheduler", env, logs)
        schedulers.append(restarted)
        wait_until(lambda: "tick done" in restarted.log(), 30, "the start-up tick")
        again = daily(SchedulerClient(restarted.url, admin_token=ADMIN_TOKEN))
        assert [(r.id, r.attempts, r.status) for r in again] == [(r.id, r.attempts, r.status) for r in runs]
        assert _synthetic_count(db) == {d: n + SAMPLES_PER_DAY for d, n in before.items()}
        with db.engine.connect() as conn:
            keys = conn.execute(sa.select(GenerationRequest.idempotency_key)).scalars().all()
        assert sorted(k for k in keys if k.endswith(f":{today}")) == [f"daily:iris:{today}", f"daily:wine:{today}"]
    finally:
        stack.generator_switch.on()
        for s in schedulers:
            s.stop()


def test_run_log_api_validates_and_describes_the_schedule(db: Database, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: the jobs fail, the API must still answer
    env = {
        **scheduler_env(db, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}", SAMPLES_PER_DAY),
        "DAILYML_SCHEDULER_RETRY_INTERVAL_SECONDS": "3600",
        "DAILYML_SCHEDULER_HTTP_ATTEMPTS": "1",
    }
    scheduler = start_service("scheduler", env, tmp_path / "logs")
    try:
        url = scheduler.url
        assert httpx.get(url + "/healthz").json() == {"status": "ok"}
        ready = httpx.get(url + "/readyz").json()
        assert ready["database"] == "ok" and ready["scheduler"] == "running"

        schedule = SchedulerClient(url).schedule()
        jobs = {j.job: j for j in schedule.jobs}
        assert jobs["daily"].cron == env["DAILYML_SCHEDULER_DAILY_CRON"]
        assert jobs["retrain"].cron == env["DAILYML_SCHEDULER_RETRAIN_CRON"]
        assert jobs["daily"].timezone == str(clock.scheduler_timezone()) and jobs["daily"].next_run_time is not None
        # The next fire is the same local time the next day: 24 h after the latest, 23 or 25 across DST.
        cron = Cron(env["DAILYML_SCHEDULER_DAILY_CRON"], str(clock.scheduler_timezone()))
        latest = cron.latest_fire(clock.now())
        assert latest is not None and jobs["daily"].next_run_time > clock.now()
        assert timedelta(hours=23) <= jobs["daily"].next_run_time - latest <= timedelta(hours=25)
        assert jobs["daily"].current_period == todays_run_key(env)

        wait_until(lambda: "tick done" in scheduler.log(), 30, "the start-up tick")
        failed = SchedulerClient(url).runs(job="daily", dataset="wine")
        assert failed.total == 1 and failed.items[0].status == "failed" and failed.items[0].error

        bad = httpx.get(url + "/runs", params={"status": "done"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "status"
        bad = httpx.get(url + "/runs", params={"dataset": "titanic"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "dataset"
        bad = httpx.get(url + "/runs", params={"limit": 501})
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "limit"

        assert httpx.post(url + "/runs", json={"job": "daily"}).status_code == 401
        auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        bad = httpx.post(url + "/runs", json={"job": "weekly"}, headers=auth)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "job"
        bad = httpx.post(url + "/runs", json={"job": "daily", "dataset": "titanic"}, headers=auth)
        assert bad.status_code == 422 and "dataset" in bad.json()["message"]

        # A manual trigger retries the failed run (attempts counted) and reports the failure.
        answer = SchedulerClient(url, admin_token=ADMIN_TOKEN).trigger("daily", "wine")
        [run] = answer.items
        assert (run.outcome, run.status, run.attempts, run.trigger) == ("retried", "failed", 2, "manual")
    finally:
        scheduler.stop()

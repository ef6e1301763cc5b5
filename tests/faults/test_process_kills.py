"""``kill -9`` of each service in the middle of its work, on SQLite and PostgreSQL.

Each fault is placed deterministically: the test holds a write lock on the table the victim is
about to write (``write_lock``), so the victim cannot finish, and kills it while it waits (on
PostgreSQL the test first sees the victim blocked on the lock in ``pg_stat_activity``). After the
restart: no partial rows, no duplicates, the work done exactly once when retried, interrupted
jobs failed (not left ``running``), the champion consistent.

One stack (predictor + generator on one database) per backend is shared by the tests of this
module; each test restarts what it killed on the same port. Heartbeats are fast here
(``DAILYML_JOB_STALE_SECONDS=1.5``) so a dead process's jobs and runs are noticed in seconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from dailyml.contracts import NewVersion
from dailyml.datasets import SPECS
from dailyml.registry import MODEL_FORMAT, Registry
from dailyml.tables import AliasEvent, GenerationRequest, Job, ModelVersion, Prediction, Run, Sample
from services.scheduler.periods import Cron
from tests.support import clock
from tests.support.credentials import ADMIN_HEADERS
from tests.support.databases import Database, fresh_database
from tests.support.examples import IRIS_OK
from tests.support.generator import quick_generator_env
from tests.support.net import wait_http
from tests.support.processes import ServiceProcess, start_service
from tests.support.switch import Switch
from tests.support.waiting import TIMEOUT_SCALE, NotYet, wait_until

pytestmark = [pytest.mark.processes, pytest.mark.slow]

STOPPED = "the process running this job stopped before it finished"
LIVENESS = {"DAILYML_JOB_HEARTBEAT_SECONDS": "0.5", "DAILYML_JOB_STALE_SECONDS": f"{5 * TIMEOUT_SCALE:g}"}


@dataclass
class Stack:
    db: Database
    logs: Path
    predictor: ServiceProcess
    generator: ServiceProcess

    def predictor_env(self) -> dict[str, str]:
        return {**self.db.env(), **LIVENESS}

    def generator_env(self) -> dict[str, str]:
        return {**quick_generator_env(self.db), **LIVENESS}

    def restart(self, service: ServiceProcess) -> ServiceProcess:
        """Start ``service`` again on its port (after ``kill9``) and wait until it is ready."""
        env = self.predictor_env() if service.name == "predictor" else self.generator_env()
        again = start_service(service.name, env, self.logs, port=service.port, timeout=180)
        setattr(self, service.name, again)
        return again


def kill9(service: ServiceProcess) -> None:
    os.kill(service.proc.pid, signal.SIGKILL)
    service.proc.wait(timeout=30)
    assert service.proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp_path = tmp_path_factory.mktemp(f"kills-{request.param}")
    with fresh_database(request, request.param, tmp_path) as db:
        yield from _stack_on(db, tmp_path / "logs")


def _stack_on(db: Database, logs: Path) -> Iterator[Stack]:
    predictor = start_service("predictor", {**db.env(), **LIVENESS}, logs, ready_path=None)
    stack = Stack(db, logs, predictor, predictor)
    try:
        stack.generator = start_service("generator", stack.generator_env(), logs, timeout=240)
        wait_http(predictor.url + "/readyz", timeout=120)
        yield stack
    finally:
        stack.generator.stop()
        stack.predictor.stop()


@pytest.fixture(autouse=True)
def alive(stack: Stack) -> None:
    """Each test starts with both services up: one that failed between its kill and its restart
    does not leave the next tests a dead process to talk to."""
    for service in (stack.predictor, stack.generator):
        if service.proc.poll() is not None:
            stack.restart(service)


# -- placing the fault ----------------------------------------------------------------------------
@contextmanager
def write_lock(db: Database, table: str) -> Iterator[Callable[[], bool]]:
    """Hold a lock that stops every other writer of ``table`` (SQLite: of the whole database) until
    the block ends. Yields ``blocked()``: whether some other session waits on it right now
    (PostgreSQL; SQLite cannot tell, and answers True)."""
    conn = db.engine.connect()
    try:
        if db.backend == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.begin()
            conn.execute(sa.text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))  # reads still pass

        def blocked() -> bool:
            if db.backend == "sqlite":
                return True
            with db.engine.connect() as probe:
                waiting = probe.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            return bool(waiting)

        yield blocked
    finally:
        if db.backend == "sqlite":
            conn.exec_driver_sql("ROLLBACK")
        else:
            conn.rollback()
        conn.close()


def in_background(call: Callable[[], Any]) -> threading.Thread:
    """Run a request that will never get its answer (its server is killed meanwhile)."""

    def run() -> None:
        with contextlib.suppress(httpx.HTTPError):  # the server died under it: expected
            call()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# -- what must hold after any crash ----------------------------------------------------------------
def count(db: Database, query: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def assert_consistent(db: Database) -> None:
    """No partial rows: every sample has its feature row, no sample has two predictions, no job
    is left running."""
    from dailyml.featurestore import feature_table

    for name in SPECS:
        ft = feature_table(name)
        samples = count(db, sa.select(sa.func.count()).select_from(Sample).where(Sample.dataset == name))
        features = count(db, sa.select(sa.func.count()).select_from(ft))
        assert samples == features, f"{name}: {samples} samples but {features} feature rows"
    per_sample = sa.select(Prediction.sample_id).group_by(Prediction.sample_id).having(sa.func.count() > 1)
    assert count(db, sa.select(sa.func.count()).select_from(per_sample.subquery())) == 0, "a sample predicted twice"


def job_status(db: Database, job_id: str) -> Job:
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(Job).where(Job.id == uuid.UUID(job_id))).one()
    return Job.model_validate(row._mapping)


# -- the generator ---------------------------------------------------------------------------------
def test_generator_killed_mid_generation_stores_nothing_and_the_retry_generates_once(stack: Stack) -> None:
    db, n = stack.db, 500
    key = f"kill-{uuid.uuid4().hex[:8]}"
    synthetic = sa.select(sa.func.count()).select_from(Sample).where(Sample.source == "synthetic")
    before = count(db, synthetic)
    url = stack.generator.url
    with write_lock(db, "features_iris") as blocked:
        in_background(
            lambda: httpx.post(
                f"{url}/iris/generate", json={"n": n, "idempotency_key": key}, headers=ADMIN_HEADERS, timeout=60
            )
        )
        wait_until(blocked, 60, "the generation to wait on the lock, half-way through its transaction")
        kill9(stack.generator)
    assert count(db, synthetic) == before, "a killed generation left samples"
    keyed = sa.select(sa.func.count()).select_from(GenerationRequest).where(GenerationRequest.idempotency_key == key)
    assert count(db, keyed) == 0
    assert_consistent(db)

    generator = stack.restart(stack.generator)
    first = httpx.post(f"{generator.url}/iris/generate", json={"n": n, "idempotency_key": key}, headers=ADMIN_HEADERS)
    again = httpx.post(f"{generator.url}/iris/generate", json={"n": n, "idempotency_key": key}, headers=ADMIN_HEADERS)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["replayed"] is False and again.json()["replayed"] is True
    assert count(db, synthetic) == before + n and count(db, keyed) == 1
    assert_consistent(db)


def test_generator_killed_mid_fit_fails_the_fit_job_on_restart(stack: Stack) -> None:
    db = stack.db
    versions = sa.select(sa.func.count()).select_from(ModelVersion).where(ModelVersion.kind == "synthesizer")
    before = count(db, versions)
    url = stack.generator.url
    accepted = httpx.post(
        f"{url}/iris/synthesizers/fit", json={"algorithm": "gaussian_copula", "promote": "never"}, headers=ADMIN_HEADERS
    )
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    wait_until(lambda: job_status(db, job_id).status == "running", 60, "the fit to start")
    with write_lock(db, "model_versions") as blocked:  # the fit cannot register its synthesizer
        wait_until(blocked, 120, "the fit to wait on the lock to register its synthesizer")
        kill9(stack.generator)
    assert job_status(db, job_id).status == "running"  # what the dead process left
    stack.restart(stack.generator)
    job = wait_until(
        lambda: (j := job_status(db, job_id)).status == "failed" and j or NotYet(j.status), 30, "the fit to be failed"
    )
    assert job.error == STOPPED and job.finished_at is not None
    assert count(db, versions) == before
    assert_consistent(db)


# -- the predictor ---------------------------------------------------------------------------------
def test_predictor_killed_mid_training_fails_the_job_on_restart(stack: Stack) -> None:
    db = stack.db
    models = sa.select(sa.func.count()).select_from(ModelVersion).where(ModelVersion.kind == "model")
    before = count(db, models)
    accepted = httpx.post(f"{stack.predictor.url}/iris/models/train", json={"profile": "fast"}, headers=ADMIN_HEADERS)
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    wait_until(lambda: job_status(db, job_id).status == "running", 60, "the training to start")
    with write_lock(db, "model_versions") as blocked:  # the training cannot register its model
        wait_until(blocked, 120, "the training to wait on the lock to register its model")
        kill9(stack.predictor)
    assert job_status(db, job_id).status == "running"
    stack.restart(stack.predictor)
    job = wait_until(
        lambda: (j := job_status(db, job_id)).status == "failed" and j or NotYet(j.status),
        30,
        "the training job to be failed",
    )
    assert job.error == STOPPED
    assert count(db, models) == before
    assert_consistent(db)


def test_predictor_killed_mid_hot_swap_keeps_one_consistent_champion(stack: Stack) -> None:
    db = stack.db
    registry = Registry.from_settings(db.engine, db.settings())
    champion = registry.aliased("iris")
    assert champion is not None
    challenger = registry.register(NewVersion.model_validate(champion), registry.artifact(champion), MODEL_FORMAT)
    events = sa.select(sa.func.count()).select_from(AliasEvent).where(AliasEvent.dataset == "iris")
    events_before = count(db, events)
    url = stack.predictor.url
    with write_lock(db, "model_aliases") as blocked:
        # The promote loads the challenger beside the champion, then waits to re-point the alias.
        in_background(
            lambda: httpx.post(f"{url}/iris/models/{challenger.version}/promote", headers=ADMIN_HEADERS, timeout=60)
        )
        wait_until(blocked, 60, "the promote to wait on the lock to re-point the champion")
        kill9(stack.predictor)
    assert registry.alias_id("iris") == champion.id and count(db, events) == events_before

    predictor = stack.restart(stack.predictor)
    served = httpx.post(f"{predictor.url}/iris/predict", json=IRIS_OK)
    assert served.status_code == 200 and served.json()["model_version"] == champion.version
    assert httpx.get(f"{predictor.url}/readyz").json()["status"] == "ready"
    # The interrupted swap, done again, completes: alias, event log and the served model agree.
    promoted = httpx.post(f"{predictor.url}/iris/models/{challenger.version}/promote", headers=ADMIN_HEADERS)
    assert promoted.status_code == 200, promoted.text
    assert registry.alias_id("iris") == challenger.id and count(db, events) == events_before + 1
    assert httpx.post(f"{predictor.url}/iris/predict", json=IRIS_OK).json()["model_version"] == challenger.version
    assert httpx.post(f"{predictor.url}/iris/models/rollback", headers=ADMIN_HEADERS).status_code == 200


def test_predictor_killed_mid_batch_leaves_no_partial_rows(stack: Stack) -> None:
    """A batch answered 200 whose log entries wait on the database when the predictor dies: what
    is stored is whole rows (sample, features, prediction) and no duplicate; what was still queued
    is the asynchronous log's loss (counted here, bounded by the prediction log's settings)."""
    db, n = stack.db, 1000
    online = sa.select(sa.func.count()).select_from(Sample).where(Sample.source == "online")
    before = count(db, online)
    url = stack.predictor.url
    with write_lock(db, "samples") as blocked:
        answered = httpx.post(f"{url}/iris/predict/batch", json={"instances": [IRIS_OK] * n}, timeout=60)
        assert answered.status_code == 200, answered.text
        assert len({p["prediction_id"] for p in answered.json()["predictions"]}) == n
        wait_until(blocked, 60, "the prediction log's writer to wait on the lock")
        kill9(stack.predictor)
    stored = count(db, online) - before
    assert 0 <= stored <= n
    assert_consistent(db)
    predictor = stack.restart(stack.predictor)
    # Nothing is written twice by the restarted process either.
    wait_until(lambda: httpx.get(f"{predictor.url}/readyz").status_code == 200, 60, "the predictor to be ready")
    assert count(db, online) - before == stored
    assert_consistent(db)
    print(f"\n[{db.backend}] kill -9 with a {n}-row batch in the log: {n - stored} answered predictions not stored")


# -- the scheduler ---------------------------------------------------------------------------------
def _scheduler_env(stack: Stack, predictor_url: str) -> dict[str, str]:
    return {
        **stack.db.env(),
        **LIVENESS,
        "DAILYML_PREDICTOR_URL": predictor_url,
        "DAILYML_GENERATOR_URL": stack.generator.url,
        "DAILYML_SCHEDULER_DATASETS": "iris",
        # Fired an hour ago with a two-hour grace: today's run is due at start-up, at any hour.
        "DAILYML_SCHEDULER_DAILY_CRON": clock.daily_cron_fired(timedelta(hours=1)),
        "DAILYML_SCHEDULER_MISFIRE_GRACE_HOURS": "2",
        "DAILYML_SCHEDULER_RETRAIN_CRON": clock.yearly_cron_fired(timedelta(days=180)),
        "DAILYML_SCHEDULER_SAMPLES_PER_DAY": "3",
        "DAILYML_SCHEDULER_HTTP_ATTEMPTS": "100000",  # keep trying while the predictor is away
        "DAILYML_SCHEDULER_BACKOFF_SECONDS": "0.2",
        "DAILYML_SCHEDULER_BACKOFF_MAX_SECONDS": "0.5",
    }


def test_scheduler_killed_mid_daily_run_completes_the_day_exactly_once(stack: Stack) -> None:
    db = stack.db
    switch = Switch(stack.predictor.port)  # off: the run generates, then waits for the predictor
    env = _scheduler_env(stack, switch.url)
    cron = Cron(env["DAILYML_SCHEDULER_DAILY_CRON"], str(clock.scheduler_timezone()))
    fire = cron.latest_fire(clock.now())
    assert fire is not None
    key = cron.run_key(fire)
    idempotency_key = f"daily:iris:{key}"

    def run() -> Run | None:
        with db.engine.connect() as conn:
            query = sa.select(Run).where(Run.job == "daily", Run.dataset == "iris", Run.scheduled_for == key)
            found = conn.execute(query).one_or_none()
        return None if found is None else Run.model_validate(found._mapping)

    day_samples = (
        sa.select(sa.func.count())
        .select_from(Sample)
        .join(GenerationRequest, GenerationRequest.dataset == Sample.dataset)
        .where(GenerationRequest.idempotency_key == idempotency_key, Sample.source == "synthetic")
    )
    synthetic = sa.select(sa.func.count()).select_from(Sample).where(Sample.source == "synthetic")
    before = count(db, synthetic)

    scheduler = start_service("scheduler", env, stack.logs)
    try:
        # Generated, then stuck predicting: the run is half done when the scheduler dies.
        wait_until(
            lambda: (r := run()) is not None and (r.counts or {}).get("generated") == 3 or NotYet(r),
            120,
            "the daily run to have generated the day's samples",
        )
        kill9(scheduler)
    finally:
        scheduler.stop()
    left = run()
    assert left is not None and left.status == "running" and left.attempts == 1
    assert count(db, synthetic) == before + 3

    switch.on()
    try:
        scheduler = start_service("scheduler", env, stack.logs)
        try:
            done = wait_until(
                lambda: (r := run()) is not None and r.status == "succeeded" and r or NotYet(r),
                120,
                "the restarted scheduler to take the run over and finish it",
            )
        finally:
            scheduler.stop()
    finally:
        switch.off()
    assert done.attempts == 2 and done.trigger == "retry"
    assert done.counts["replayed"] is True and done.counts["generated"] == 3 and done.counts["predicted"] >= 3
    # Exactly once: one run row, one generation, three samples, each predicted once.
    with db.engine.connect() as conn:
        runs = conn.execute(
            sa.select(sa.func.count()).select_from(Run).where(Run.job == "daily", Run.dataset == "iris")
        ).scalar_one()
    assert runs == 1
    assert count(db, synthetic) == before + 3
    assert count(db, day_samples) >= 3
    unpredicted = (
        sa.select(sa.func.count())
        .select_from(Sample)
        .outerjoin(Prediction, Prediction.sample_id == Sample.id)
        .where(Sample.source == "synthetic", Sample.dataset == "iris", Prediction.id.is_(None))  # type: ignore[union-attr]
    )
    assert count(db, unpredicted) == 0
    assert_consistent(db)

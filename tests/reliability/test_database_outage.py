"""PostgreSQL stopped (``pg_ctl stop -m fast``) under a running predictor, generator and scheduler
(real processes, real HTTP), then started again.

What must hold: predictions keep being answered from the loaded models and none is lost (after
recovery the predictions stored are exactly the ones answered 200); reads that need the
database answer 503 with ``Retry-After`` and the usual error body; every ``/readyz`` goes 503
and comes back by itself, in the same processes; the scheduler's daily run still happens once.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dailyml.contracts.scheduler import RunPage
from tests.support.credentials import ADMIN_HEADERS
from tests.support.databases import Database
from tests.support.generator import quick_generator_env
from tests.support.load import PredictionLoad, online_prediction_ids
from tests.support.postgres import PostgresServer
from tests.support.processes import ServiceProcess, start_service
from tests.support.scheduling import scheduler_env, todays_run_key
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.processes, pytest.mark.slow]


def _status(url: str, path: str, **kwargs: object) -> int:
    try:
        return httpx.get(url + path, timeout=10, **kwargs).status_code  # type: ignore[arg-type]
    except httpx.HTTPError:
        return -1


def _unavailable(response: httpx.Response) -> dict[str, object]:
    """A 503 that says to come back: ``Retry-After`` and the services' error body."""
    assert response.status_code == 503, (response.status_code, response.text)
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert set(body) == {"error", "message", "detail"} and body["error"] == "database_unavailable", body
    return body  # type: ignore[no-any-return]


def test_a_postgres_outage_under_load_loses_no_prediction_and_every_service_recovers(
    postgres_server: PostgresServer, postgres_db: Database, tmp_path: Path
) -> None:
    db, logs = postgres_db, tmp_path / "logs"
    # The log retries every 0.5 s at most (default 5 s), so the test does not wait on the backoff.
    predictor = start_service("predictor", {**db.env(), "DAILYML_LOG_RETRY_MAX_SECONDS": "0.5"}, logs)
    services: list[ServiceProcess] = [predictor]
    try:
        generator = start_service("generator", quick_generator_env(db), logs, timeout=180)
        services.append(generator)
        env = scheduler_env(db, predictor.url, generator.url)
        scheduler = start_service("scheduler", env, logs)
        services.append(scheduler)
        today = todays_run_key(env)

        def daily_runs() -> RunPage:
            r = httpx.get(scheduler.url + "/runs", params={"job": "daily"}, timeout=10)
            return RunPage.model_validate(r.json())

        def todays_runs_succeeded() -> bool:
            runs = [r for r in daily_runs().items if r.scheduled_for == today]
            return len(runs) == 2 and all(r.status == "succeeded" for r in runs)

        # The scheduler catches today's run up at start-up (generate, then predict).
        wait_until(todays_runs_succeeded, 180, "today's daily runs to succeed before the outage")
        before = {d: online_prediction_ids(db.engine, d) for d in ("iris", "wine")}

        with PredictionLoad(predictor.url, clients=4) as load:
            wait_until(lambda: load.ok >= 50, 60, "predictions answered before the outage")
            postgres_server.outage_begins()
            try:
                answered_at_stop = load.ok
                for service in services:
                    wait_until(
                        lambda s=service: _status(s.url, "/readyz") == 503,  # type: ignore[misc]
                        60,
                        f"{service.name}'s /readyz to say not ready",
                    )
                    assert _status(service.url, "/healthz") == 200
                # Predictions keep coming, from the loaded models.
                wait_until(lambda: load.ok >= answered_at_stop + 200, 120, "predictions answered during the outage")
                # Reads that need the database: 503, Retry-After, the error body.
                _unavailable(httpx.get(predictor.url + "/iris/history", timeout=10))
                _unavailable(httpx.get(predictor.url + "/wine/confusion-matrix", timeout=10))
                _unavailable(httpx.get(generator.url + "/iris/samples", timeout=10))
                _unavailable(
                    httpx.post(generator.url + "/iris/generate", json={"n": 1}, headers=ADMIN_HEADERS, timeout=30)
                )
                _unavailable(httpx.get(scheduler.url + "/runs", timeout=10))
                _unavailable(
                    httpx.post(scheduler.url + "/runs", json={"job": "daily"}, headers=ADMIN_HEADERS, timeout=60)
                )
                readiness = httpx.get(predictor.url + "/readyz", timeout=10).json()
                assert readiness["database"].startswith("unavailable")
                assert readiness["prediction_log"]["pending"] > 0, readiness
                answered_during = load.ok - answered_at_stop
            finally:
                postgres_server.outage_ends()
            for service in services:
                wait_until(
                    lambda s=service: _status(s.url, "/readyz") == 200,  # type: ignore[misc]
                    120,
                    f"{service.name}'s /readyz to recover",
                )
            wait_until(lambda: load.ok >= answered_at_stop + answered_during + 50, 60, "predictions after it")

        # Nothing restarted, nothing crashed.
        for service in services:
            assert service.proc.poll() is None, f"{service.name} exited:\n{service.log()[-3000:]}"
        assert set(load.statuses) == {200}, load.statuses

        answered = {d: len(ids) for d, ids in load.ids.items()}
        wait_until(
            lambda: httpx.get(predictor.url + "/readyz").json()["prediction_log"]["pending"] == 0,
            60,
            "the buffered predictions to be written",
        )
        for dataset, ids in load.ids.items():
            new = online_prediction_ids(db.engine, dataset) - before[dataset]
            assert new == set(ids), (dataset, len(new), len(ids))
        readiness = httpx.get(predictor.url + "/readyz", timeout=10).json()
        assert readiness["prediction_log"]["dropped"] == 0 and "model_error" not in readiness, readiness
        print(
            f"outage: {sum(answered.values())} predictions answered 200 "
            f"({answered_during} while PostgreSQL was down), all stored; statuses {dict(load.statuses)}"
        )

        # The daily run is still done once; a trigger now is told so, and reads answer again.
        again = httpx.post(scheduler.url + "/runs", json={"job": "daily"}, headers=ADMIN_HEADERS, timeout=120)
        assert again.status_code == 200, again.text
        assert {r["outcome"] for r in again.json()["items"]} == {"already_succeeded"}
        assert len([r for r in daily_runs().items if r.scheduled_for == today]) == 2
        assert httpx.get(predictor.url + "/iris/history", timeout=10).status_code == 200
        assert httpx.get(generator.url + "/iris/samples", timeout=10).status_code == 200
    finally:
        for service in reversed(services):
            service.stop()

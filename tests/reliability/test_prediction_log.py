"""The prediction log while the database is away (PostgreSQL behind a switch that refuses
connections and cuts open ones), in-process: what a full buffer does under each policy, and the
synchronous mode."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from services.predictor.app import create_app
from tests.support.databases import Database
from tests.support.examples import IRIS_OK as IRIS
from tests.support.load import online_prediction_ids
from tests.support.observability import Scrape
from tests.support.switch import Switch
from tests.support.waiting import wait_until

pytestmark = pytest.mark.postgres


def _client(db: Database, switch: Switch, **overrides: Any) -> TestClient:
    url = switch.route(db.url)
    settings = db.settings().model_copy(
        update={"database_url": url, "log_retry_max_seconds": 0.2, "model_poll_seconds": 60.0, **overrides}
    )
    return TestClient(create_app(settings))


def _predict(api: TestClient) -> httpx.Response:
    return api.post("/iris/predict", json=IRIS)


def _counted(api: TestClient, outcome: str) -> float:
    """The process-wide count of log entries with ``outcome`` (compare before and after)."""
    return Scrape(api.get("/metrics").text).value("dailyml_prediction_log_entries_total", outcome=outcome)


def _pending(api: TestClient) -> int:
    return api.app.state.prediction_log.pending  # type: ignore[attr-defined, no-any-return]


def test_a_full_log_refuses_predictions_with_503_and_stores_every_200(
    postgres_db: Database, database_switch: Switch
) -> None:
    with _client(postgres_db, database_switch, log_queue_max=20) as api:
        refused_before = _counted(api, "refused_buffer_full")
        answered = [uuid.UUID(_predict(api).json()["prediction_id"]) for _ in range(3)]
        database_switch.off()
        refused = None
        for _ in range(100):
            r = _predict(api)
            if r.status_code != 200:
                refused = r
                break
            answered.append(uuid.UUID(r.json()["prediction_id"]))
        assert refused is not None and refused.status_code == 503, "a full log must refuse"
        assert refused.json()["error"] == "prediction_log_full" and "DAILYML_LOG_QUEUE_MAX=20" in refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        assert _pending(api) == 20  # everything answered since the outage, nothing more
        history = api.get("/iris/history")
        assert history.status_code == 503 and history.headers["Retry-After"]
        assert api.get("/readyz").json()["prediction_log"]["refused"] == 1

        database_switch.on()
        wait_until(lambda: _pending(api) == 0, 60, "the buffered predictions to be written")
        assert online_prediction_ids(postgres_db.engine, "iris") == set(answered)
        assert _predict(api).status_code == 200
        assert _counted(api, "refused_buffer_full") == refused_before + 1


def test_drop_oldest_keeps_answering_and_counts_what_it_drops(postgres_db: Database, database_switch: Switch) -> None:
    with _client(postgres_db, database_switch, log_queue_max=20, log_when_full="drop_oldest") as api:
        dropped_before = _counted(api, "dropped_buffer_full")
        database_switch.off()
        answered = [_predict(api) for _ in range(50)]
        assert {r.status_code for r in answered} == {200}
        assert _pending(api) == 20
        database_switch.on()
        wait_until(lambda: _pending(api) == 0, 60, "the buffered predictions to be written")
        ids = [uuid.UUID(r.json()["prediction_id"]) for r in answered]
        assert online_prediction_ids(postgres_db.engine, "iris") == set(ids[-20:])  # the newest 20
        assert api.get("/readyz").json()["prediction_log"]["dropped"] == 30
        assert _counted(api, "dropped_buffer_full") == dropped_before + 30


def test_sync_mode_answers_only_what_is_stored(postgres_db: Database, database_switch: Switch) -> None:
    with _client(postgres_db, database_switch, log_mode="sync", log_flush_seconds=30.0) as api:
        for _ in range(5):  # stored before the answer, though the writer's interval is 30 s
            r = _predict(api)
            assert r.status_code == 200
            assert uuid.UUID(r.json()["prediction_id"]) in online_prediction_ids(postgres_db.engine, "iris")
        stored = online_prediction_ids(postgres_db.engine, "iris")
        database_switch.off()
        refused = _predict(api)
        assert refused.status_code == 503 and refused.json()["error"] == "database_unavailable"
        assert int(refused.headers["Retry-After"]) >= 1
        database_switch.on()
        assert _predict(api).status_code == 200
        assert _pending(api) == 0
        assert len(online_prediction_ids(postgres_db.engine, "iris") - stored) == 1  # the refused one is not stored


def test_the_retry_backoff_stays_capped_after_any_number_of_failures() -> None:
    """2.0 ** 1024 overflows: a long outage must not end the writer thread through its backoff."""
    import sqlalchemy as sa

    from dailyml.prediction_log import PredictionLog

    log = PredictionLog(sa.create_engine("sqlite://"), 0.05, 10, 100, retry_max_seconds=5.0)
    for failures, expected in ((0, 0.05), (1, 0.1), (3, 0.4), (10, 5.0), (1_000, 5.0), (100_000, 5.0)):
        log._failures = failures
        assert log._backoff() == expected

"""Model versions through the API: listing, promotion, rollback, readiness."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient

from dailyml.bootstrap import train_and_register
from dailyml.datasets import IRIS
from dailyml.registry import Registry
from services.predictor.app import create_app
from tests.support.credentials import ADMIN_HEADERS
from tests.support.examples import IRIS_OK


def test_models_lists_versions_with_metrics_and_the_champion(api: TestClient) -> None:
    body = api.get("/wine/models").json()
    assert body["champion"] == 1
    v1 = body["versions"][0]
    assert v1["aliases"] == ["champion"] and "holdout" in v1["metrics"] and v1["data_hash"]


def test_model_timestamps_are_rfc3339_in_utc_on_every_backend(api: TestClient) -> None:
    # SQLite hands back naive datetimes: without a zone "2026-11-30T23:47:03.499014" is not
    # RFC 3339, and a client cannot tell when that was.
    for dataset in ("iris", "wine"):
        listing = api.get(f"/{dataset}/models").json()["versions"]
        one = api.get(f"/{dataset}/models/1").json()
        for created in [v["created_at"] for v in listing] + [one["created_at"]]:
            assert created.endswith(("Z", "+00:00")), created
            assert datetime.fromisoformat(created).utcoffset() == timedelta(0)


def test_promote_and_rollback_need_the_token_and_switch_what_is_served(api: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    registry = Registry.from_settings(db.engine, db.settings())
    v2 = train_and_register(db.engine, registry, IRIS, db.settings(), progress=lambda *a: None)
    assert api.post(f"/iris/models/{v2.version}/promote").status_code == 401
    r = api.post(f"/iris/models/{v2.version}/promote", headers=ADMIN_HEADERS)
    assert r.status_code == 200 and r.json()["aliases"] == ["champion"]
    assert api.post("/iris/predict", json=IRIS_OK).json()["model_version"] == 2
    assert api.post("/iris/models/rollback", headers=ADMIN_HEADERS).json()["version"] == 1
    assert api.post("/iris/predict", json=IRIS_OK).json()["model_version"] == 1
    assert api.post("/iris/models/rollback", headers=ADMIN_HEADERS).status_code == 409
    assert api.post("/iris/models/99/promote", headers=ADMIN_HEADERS).status_code == 404


def test_training_job_reports_progress_and_both_scores(api: TestClient) -> None:
    assert api.post("/iris/models/train", json={}).status_code == 401
    r = api.post("/iris/models/train", json={"profile": "fast"}, headers=ADMIN_HEADERS)
    assert r.status_code == 202
    job_id = r.json()["job_id"]
    api.app_state.jobs.wait(__import__("uuid").UUID(job_id), timeout=120)  # type: ignore[attr-defined]
    job = api.get(f"/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["progress"] == 1.0
    result = job["result"]
    assert result["version"] == 2 and result["champion"]["version"] == 1
    assert result["challenger"]["n"] == result["champion"]["metrics"]["n"]  # same hold-out rows
    assert api.get("/iris/models").json()["champion"] == 1  # trained, not promoted
    assert api.post("/iris/models/train", json={"profile": "huge"}, headers=ADMIN_HEADERS).status_code == 422


def test_not_ready_without_champions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from dailyml.db import migrate
    from dailyml.settings import Settings

    settings = Settings(home=tmp_path, admin_token="an-admin-token-for-tests")  # type: ignore[arg-type]
    migrate(settings.resolved_database_url)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json()["missing_models"] == ["iris", "wine"]
        p = client.post("/iris/predict", json=IRIS_OK)
        assert p.status_code == 503 and p.json()["error"] == "not_ready"


def test_admin_endpoints_refuse_when_no_token_is_configured(db) -> None:  # type: ignore[no-untyped-def]
    settings = db.settings().model_copy(update={"admin_token": None})
    with TestClient(create_app(settings)) as client:
        r = client.post("/iris/models/rollback", headers=ADMIN_HEADERS)
        assert r.status_code == 403 and "DAILYML_ADMIN_TOKEN" in r.json()["message"]


def test_served_models_predict_single_threaded(api: TestClient) -> None:
    # Requests are parallel already; joblib fan-out per one-row predict only adds latency.
    wine = api.app_state.models.get("wine").estimator  # type: ignore[attr-defined]
    n_jobs = {k: v for k, v in wine.get_params().items() if k.endswith("n_jobs")}
    assert n_jobs and set(n_jobs.values()) == {1}

"""DAILYML_READ_TOKEN: when set, every read that exposes stored data needs a bearer token (read or
admin); health, readiness and the API description stay open; /predict stays open unless
DAILYML_PREDICT_REQUIRES_TOKEN=true. The frontends send the read token, never the admin token."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from dailyml.settings import Settings
from tests.support.credentials import ADMIN_HEADERS, ADMIN_TOKEN
from tests.support.databases import Database
from tests.support.examples import IRIS_OK

READ_TOKEN = "test-read-token-9876543210abc"
READ = {"Authorization": f"Bearer {READ_TOKEN}"}
WRONG = {"Authorization": "Bearer not-the-read-token-0123456789"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def predictor(sqlite_db: Database) -> Iterator[TestClient]:
    from services.predictor.app import create_app

    with TestClient(create_app(sqlite_db.settings(read_token=READ_TOKEN))) as client:
        yield client


PREDICTOR_READS = [
    "/iris/history",
    "/iris/models",
    "/iris/models/1",
    "/jobs",
    "/iris/confusion-matrix",
    "/iris/metrics",
    "/iris/samples/random",
    "/wine/history?source=online",
]
OPEN = ["/healthz", "/readyz", "/openapi.json", "/docs", "/iris/spec"]


def _refused(r: Any) -> None:
    assert r.status_code == 401, r.text
    body = r.json()
    assert set(body) == {"error", "message", "detail"} and body["error"] == "unauthorized"
    assert "DAILYML_READ_TOKEN" in body["message"]
    assert r.headers.get("www-authenticate") == "Bearer"


@pytest.mark.parametrize("path", PREDICTOR_READS)
def test_predictor_reads_need_the_read_or_admin_token(predictor: TestClient, path: str) -> None:
    _refused(predictor.get(path))
    _refused(predictor.get(path, headers=WRONG))
    assert predictor.get(path, headers=READ).status_code == 200
    assert predictor.get(path, headers=ADMIN_HEADERS).status_code == 200


@pytest.mark.parametrize("path", OPEN)
def test_health_readiness_and_the_api_description_stay_open(predictor: TestClient, path: str) -> None:
    assert predictor.get(path).status_code == 200


def test_predict_stays_open_and_the_read_token_grants_no_admin(predictor: TestClient) -> None:
    assert predictor.post("/iris/predict", json=IRIS_OK).status_code == 200
    assert predictor.post("/iris/predict/batch", json={"instances": [IRIS_OK]}).status_code == 200
    assert predictor.post("/iris/models/rollback", headers=READ).status_code == 401


def test_predict_can_require_a_token(sqlite_db: Database) -> None:
    from services.predictor.app import create_app

    settings = sqlite_db.settings(read_token=READ_TOKEN, predict_requires_token=True)
    with TestClient(create_app(settings)) as client:
        _refused(client.post("/iris/predict", json=IRIS_OK))
        _refused(client.post("/iris/predict/batch", json={"instances": [IRIS_OK]}))
        assert client.post("/iris/predict", json=IRIS_OK, headers=READ).status_code == 200
        assert client.post("/iris/predict", json=IRIS_OK, headers=ADMIN_HEADERS).status_code == 200


def test_without_a_read_token_reads_stay_open(sqlite_db: Database) -> None:
    from services.predictor.app import create_app

    with TestClient(create_app(sqlite_db.settings())) as client:
        for path in PREDICTOR_READS:
            assert client.get(path).status_code == 200, path


def test_generator_reads_need_the_read_token(sqlite_db: Database) -> None:
    from services.generator.app import create_app
    from services.generator.config import GeneratorConfig

    app = create_app(sqlite_db.settings(read_token=READ_TOKEN), GeneratorConfig(bootstrap=False))
    with TestClient(app) as client:
        for path in ("/iris/samples", "/iris/synthesizers", "/iris/distributions"):
            _refused(client.get(path))
            assert client.get(path, headers=READ).status_code == 200, path
        job = "/jobs/00000000-0000-0000-0000-000000000000"
        _refused(client.get(job))
        assert client.get(job, headers=READ).status_code == 404
        assert client.get("/healthz").status_code == 200


def test_scheduler_reads_need_the_read_token(sqlite_db: Database) -> None:
    from services.scheduler.config import SchedulerSettings
    from services.scheduler.main import create_app

    settings = sqlite_db.settings(read_token=READ_TOKEN, predictor_url="http://127.0.0.1:9")
    sched = SchedulerSettings(run_on_first_start=False, http_attempts=1, retry_interval_seconds=3600)
    with TestClient(create_app(settings, sched)) as client:
        for path in ("/runs", "/schedule"):
            _refused(client.get(path))
            assert client.get(path, headers=READ).status_code == 200, path
        assert client.get("/healthz").status_code == 200


def test_read_token_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("DAILYML_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DAILYML_READ_TOKEN", "")
    assert Settings().read_token is None
    monkeypatch.setenv("DAILYML_READ_TOKEN", "short")
    with pytest.raises(ValidationError, match="DAILYML_READ_TOKEN"):
        Settings()
    monkeypatch.setenv("DAILYML_READ_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("DAILYML_ADMIN_TOKEN", ADMIN_TOKEN)
    with pytest.raises(ValidationError, match="must differ"):
        Settings()


def test_frontend_clients_send_the_read_token_and_never_the_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from frontends.common import services

    monkeypatch.setenv("DAILYML_READ_TOKEN", READ_TOKEN)
    monkeypatch.setenv("DAILYML_ADMIN_TOKEN", ADMIN_TOKEN)
    clients = [
        services.predictor_client("http://127.0.0.1:9"),
        services.generator_client("http://127.0.0.1:9"),
        services.scheduler_client("http://127.0.0.1:9"),
    ]
    for client in clients:
        assert client is not None
        assert client._http.headers["Authorization"] == f"Bearer {READ_TOKEN}"
    monkeypatch.delenv("DAILYML_READ_TOKEN")
    client = services.predictor_client("http://127.0.0.1:9")
    assert "Authorization" not in client._http.headers


def test_frontend_code_never_mentions_the_admin_token() -> None:
    for path in (REPO / "frontends").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"admin_token|ADMIN_TOKEN", text), f"{path} refers to the admin token"


def test_dailyml_up_gives_the_uis_no_admin_token() -> None:
    from dailyml.supervisor import SERVICES, service_env

    env = {"DAILYML_ADMIN_TOKEN": ADMIN_TOKEN, "DAILYML_READ_TOKEN": READ_TOKEN, "PATH": "/bin"}
    for name in SERVICES:
        given = service_env(env, name)
        if name in ("gradio", "dashboard"):
            assert "DAILYML_ADMIN_TOKEN" not in given and given["DAILYML_READ_TOKEN"] == READ_TOKEN
        else:
            assert given["DAILYML_ADMIN_TOKEN"] == ADMIN_TOKEN

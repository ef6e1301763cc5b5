"""Request limits: body size (413), per-client rate of predictions (429 + Retry-After), CORS only
for the configured origins. Every refusal is the services' ``{"error", "message", "detail"}``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from dailyml.contracts import MAX_BATCH
from dailyml.datasets import WINE
from dailyml.settings import Settings
from tests.support.databases import Database
from tests.support.examples import IRIS_OK, WINE_OK


@pytest.fixture
def make_client(sqlite_db: Database) -> Iterator[Any]:
    from services.predictor.app import create_app

    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(create_app(sqlite_db.settings(**overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _error(r: Any, status: int, error: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"error", "message", "detail"} and body["error"] == error
    return body


# -- body size ----------------------------------------------------------------------------------------
def test_a_body_over_the_limit_is_refused_with_413(make_client: Any) -> None:
    client = make_client(max_body_bytes=1024)
    big = {"instances": [IRIS_OK] * 100}
    body = _error(client.post("/iris/predict/batch", json=big), 413, "payload_too_large")
    assert "1024" in body["message"] and "DAILYML_MAX_BODY_BYTES" in body["message"]
    assert client.post("/iris/predict/batch", json={"instances": [IRIS_OK] * 5}).status_code == 200


def test_a_chunked_body_over_the_limit_is_refused_too(make_client: Any) -> None:
    client = make_client(max_body_bytes=1024)
    data = json.dumps({"instances": [IRIS_OK] * 100}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        for i in range(0, len(data), 256):
            yield data[i : i + 256]

    r = client.post("/iris/predict/batch", content=chunks(), headers={"Content-Type": "application/json"})
    _error(r, 413, "payload_too_large")


def test_the_largest_allowed_batch_fits_the_default_limit(make_client: Any) -> None:
    # Every float at its longest repr (17 significant digits), in the wine spec's valid ranges.
    widest = {}
    for feature in WINE.features:
        if feature.is_categorical:
            widest[feature.name] = max(feature.categories, key=len)  # type: ignore[arg-type]
        else:
            widest[feature.name] = WINE_OK[feature.name] + 1e-15 if WINE_OK[feature.name] else 1e-15
    body = json.dumps({"instances": [widest] * MAX_BATCH}, indent=1).encode()
    default = Settings.model_fields["max_body_bytes"].default
    assert len(body) < default, f"{len(body)} bytes do not fit {default}"
    client = make_client()
    r = client.post("/wine/predict/batch", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["predictions"]) == MAX_BATCH


# -- rate limit ---------------------------------------------------------------------------------------
def test_rate_limiting_is_off_by_default(make_client: Any) -> None:
    assert Settings.model_fields["rate_limit_per_second"].default == 0
    client = make_client()
    assert all(client.post("/iris/predict", json=IRIS_OK).status_code == 200 for _ in range(30))


def test_predictions_over_the_rate_get_429_with_retry_after(make_client: Any) -> None:
    client = make_client(rate_limit_per_second=0.5, rate_limit_burst=3)
    answers = [client.post("/iris/predict", json=IRIS_OK) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    refused = client.post("/iris/predict", json=IRIS_OK)
    body = _error(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) >= 1 and "DAILYML_RATE_LIMIT" in body["message"]
    _error(client.post("/iris/predict/batch", json={"instances": [IRIS_OK]}), 429, "rate_limited")
    # Reads and health are not counted.
    assert client.get("/iris/history").status_code == 200 and client.get("/healthz").status_code == 200


def test_the_token_bucket_refills_and_keys_by_client() -> None:
    from dailyml.protection import TokenBuckets

    now = [100.0]
    buckets = TokenBuckets(clock=lambda: now[0], max_clients=3)
    assert [buckets.take("a", rate=1.0, burst=2) for _ in range(3)] == [0.0, 0.0, 1.0]
    assert buckets.take("b", rate=1.0, burst=2) == 0.0  # another client has its own bucket
    now[0] += 1.0
    assert buckets.take("a", rate=1.0, burst=2) == 0.0  # refilled one token
    assert buckets.take("a", rate=1.0, burst=2) == 1.0
    for client in ("c", "d", "e"):
        buckets.take(client, rate=1.0, burst=2)
    assert len(buckets) <= 3  # bounded memory


# -- CORS ---------------------------------------------------------------------------------------------
def test_no_cors_headers_unless_origins_are_configured(make_client: Any) -> None:
    client = make_client()
    r = client.get("/healthz", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_allows_only_the_configured_origins(make_client: Any) -> None:
    client = make_client(cors_origins=["http://localhost:7860"])
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = client.options("/iris/predict", headers={"Origin": "http://localhost:7860", **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://localhost:7860"
    bad = client.options("/iris/predict", headers={"Origin": "http://evil.example", **preflight})
    assert bad.headers.get("access-control-allow-origin") != "http://evil.example"
    simple = client.get("/healthz", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_cors_origins_come_comma_separated_and_refuse_a_wildcard(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("DAILYML_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DAILYML_CORS_ORIGINS", "http://localhost:7860, https://ui.example.org")
    assert Settings().cors_origins == ["http://localhost:7860", "https://ui.example.org"]
    monkeypatch.setenv("DAILYML_CORS_ORIGINS", "*")
    with pytest.raises(ValidationError, match="DAILYML_CORS_ORIGINS"):
        Settings()

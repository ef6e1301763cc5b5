"""The one-row prediction path before FastAPI's router answers exactly as the route does, and leaves
everything it cannot answer to the route."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

import services.predictor.fast_path as fast_path
from dailyml.datasets import IRIS
from dailyml.featurestore import count_samples
from tests.predictor.conftest import flush
from tests.support.examples import IRIS_OK, WINE_OK
from tests.support.observability import Scrape


@pytest.fixture
def answered_fast(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies the fast path answered itself (the route serialises through its own reference)."""
    answered: list[bytes] = []
    serialise = fast_path.json_bytes

    def spy(body: Any) -> bytes:
        answered.append(data := serialise(body))
        return data

    monkeypatch.setattr(fast_path, "json_bytes", spy)
    return answered


def _without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "prediction_id"}


@pytest.mark.parametrize(("dataset", "row"), [("iris", IRIS_OK), ("wine", WINE_OK)])
def test_the_fast_path_answers_what_the_route_answers(
    api: TestClient, answered_fast: list[bytes], dataset: str, row: dict[str, Any]
) -> None:
    fast = api.post(f"/{dataset}/predict", json=row)
    assert len(answered_fast) == 1 and fast.content == answered_fast[0]
    api.app_state.predict_fast_path = False  # type: ignore[attr-defined]
    routed = api.post(f"/{dataset}/predict", json=row)
    assert len(answered_fast) == 1, "with the fast path off, the route answers"
    assert fast.status_code == routed.status_code == 200
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert fast.headers["x-request-id"] and routed.headers["x-request-id"]
    assert _without_id(fast.json()) == _without_id(routed.json())
    flush(api)
    ids = {uuid.UUID(r.json()["prediction_id"]) for r in (fast, routed)}
    history = api.get(f"/{dataset}/history", params={"limit": 10}).json()
    assert ids <= {uuid.UUID(p["id"]) for p in history["items"]}


def test_bad_bodies_get_the_routes_422_naming_the_field(api: TestClient, answered_fast: list[bytes]) -> None:
    engine = api.app_state.engine  # type: ignore[attr-defined]
    before = count_samples(engine, IRIS, source="online")
    r = api.post("/iris/predict", json={**IRIS_OK, "petal_width": -1})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "petal_width"
    r = api.post("/iris/predict", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "validation_error"
    r = api.post("/wine/predict", json={**WINE_OK, "colour": "red"})
    assert r.status_code == 422 and "colour" in r.text
    assert answered_fast == []
    flush(api)
    assert count_samples(engine, IRIS, source="online") == before


def test_other_content_types_go_to_the_route(api: TestClient, answered_fast: list[bytes]) -> None:
    import json

    r = api.post("/iris/predict", content=json.dumps(IRIS_OK).encode(), headers={"Content-Type": "text/plain"})
    assert r.status_code == 422 and answered_fast == []
    r = api.post(
        "/iris/predict",
        content=json.dumps(IRIS_OK).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 200 and len(answered_fast) == 1


def test_fast_answers_are_counted_and_logged_under_the_route(
    api: TestClient, answered_fast: list[bytes], caplog: pytest.LogCaptureFixture
) -> None:
    before = Scrape(api.get("/metrics").text).value(
        "dailyml_http_requests_total", route="/wine/predict", status="200", method="POST"
    )
    with caplog.at_level("INFO", logger="dailyml.access"):
        assert api.post("/wine/predict", json=WINE_OK).status_code == 200
    assert len(answered_fast) == 1
    after = Scrape(api.get("/metrics").text).value(
        "dailyml_http_requests_total", route="/wine/predict", status="200", method="POST"
    )
    assert after == before + 1
    line = next(r for r in caplog.records if r.name == "dailyml.access" and r.getMessage().startswith("POST"))
    assert line.route == "/wine/predict" and line.dataset == "wine" and line.model_version == 1  # type: ignore[attr-defined]

"""A real predictor process: /metrics parsed with prometheus-client's parser after real traffic
equals what was sent; request ids are echoed and logged; JSON log lines carry the fields and
never the token or a request body."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.support.credentials import ADMIN_HEADERS, ADMIN_TOKEN
from tests.support.examples import IRIS_OK, WINE_OK
from tests.support.observability import Scrape, json_lines, wait_for_log_lines, wait_for_scrape
from tests.support.processes import start_service

pytestmark = [pytest.mark.slow, pytest.mark.processes]


@pytest.fixture
def predictor(sqlite_db, tmp_path: Path):  # type: ignore[no-untyped-def]
    service = start_service("predictor", sqlite_db.env() | {"DAILYML_LOG_FORMAT": "json"}, tmp_path / "logs")
    try:
        yield service
    finally:
        service.stop()


def test_metrics_after_real_traffic_equal_what_was_sent(predictor) -> None:  # type: ignore[no-untyped-def]
    url = predictor.url
    labels: Counter[tuple[str, str]] = Counter()
    versions: dict[str, int] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(7):
            body = {**IRIS_OK, "petal_length": 1.4 + i * 0.8, "petal_width": 0.2 + i * 0.3}
            answer = client.post("/iris/predict", json=body).json()
            labels[("iris", answer["variety"])] += 1
            versions["iris"] = answer["model_version"]
        batch = client.post("/wine/predict/batch", json={"instances": [WINE_OK] * 5}).json()
        for p in batch["predictions"]:
            labels[("wine", str(p["quality"]))] += 1
        versions["wine"] = batch["model_version"]
        assert client.post("/iris/predict", json={"sepal_length": -1}).status_code == 422
        assert client.post("/iris/predict", json={}).status_code == 422
        assert client.get("/no/such/path").status_code == 404
        assert client.get("/iris/history", params={"limit": 3}).status_code == 200
        ready = client.get("/readyz").json()

    # The prediction log writes in the background: wait until it says so.
    scrape = wait_for_scrape(
        url,
        lambda s: s.value("dailyml_prediction_log_entries_total", outcome="written") >= 12,
        "the 12 logged predictions written",
    )

    def requests(route: str, status: str, method: str = "POST") -> float:
        return scrape.value(
            "dailyml_http_requests_total", service="predictor", method=method, route=route, status=status
        )

    assert requests("/iris/predict", "200") == 7
    assert requests("/iris/predict", "422") == 2
    assert requests("/wine/predict/batch", "200") == 1
    assert requests("/iris/history", "200", "GET") == 1
    assert requests("<unmatched>", "404", "GET") == 1
    assert scrape.value("dailyml_http_request_duration_seconds_count", route="/iris/predict", method="POST") == 9
    bucket = scrape.matching("dailyml_http_request_duration_seconds_bucket", route="/iris/predict", le="+Inf")
    assert [v for _, v in bucket] == [9]

    seen = Counter(
        {
            (lab["dataset"], lab["label"]): v
            for lab, v in scrape.matching("dailyml_predictions_total", source="online")
            if v
        }
    )
    assert seen == labels
    for dataset, version in versions.items():
        assert scrape.value("dailyml_predictions_total", dataset=dataset, model_version=str(version)) == (
            7 if dataset == "iris" else 5
        )
        assert scrape.value("dailyml_serving_version", dataset=dataset, kind="model", alias="champion") == version
        assert ready["models"][dataset] == version
        assert scrape.value("dailyml_serving_version_changed_timestamp_seconds", dataset=dataset) > 1.7e9

    assert scrape.value("dailyml_prediction_log_entries_total", outcome="written") == 12
    assert scrape.value("dailyml_prediction_log_entries_total", outcome="dropped_buffer_full") == 0
    assert scrape.value("dailyml_prediction_log_entries_total", outcome="refused_buffer_full") == 0
    assert scrape.value("dailyml_prediction_log_batches_total", outcome="written") >= 1
    assert scrape.value("dailyml_prediction_log_batches_total", outcome="failed") == 0
    assert scrape.value("dailyml_prediction_log_queue_depth") == 0
    # Scraping is counted too, under its own route.
    assert Scrape.of(url).value("dailyml_http_requests_total", route="/metrics") >= 1


def test_request_ids_are_echoed_generated_and_logged_without_secrets(predictor) -> None:  # type: ignore[no-untyped-def]
    url = predictor.url
    with httpx.Client(base_url=url, timeout=30) as client:
        given = client.post("/iris/predict", json=IRIS_OK, headers={"X-Request-ID": "trace-abc.123"})
        assert given.status_code == 200 and given.headers["X-Request-ID"] == "trace-abc.123"
        fresh = client.post("/iris/predict", json=IRIS_OK)
        assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["X-Request-ID"])
        forged = client.get("/healthz", headers={"X-Request-ID": "x" * 200})
        assert forged.headers["X-Request-ID"] != "x" * 200
        # Errors carry it too, and an admin call's token never reaches the log.
        invalid = client.post("/iris/predict", json={**IRIS_OK, "sepal_length": 99}, headers={"X-Request-ID": "bad-1"})
        assert invalid.status_code == 422 and invalid.headers["X-Request-ID"] == "bad-1"
        admin = client.post("/iris/predict/pending", headers={**ADMIN_HEADERS, "X-Request-ID": "admin-1"})
        assert admin.status_code == 200

    ids = {"trace-abc.123", "bad-1", "admin-1", fresh.headers["X-Request-ID"]}
    found = wait_for_log_lines(predictor.log, ids)
    by_id = {rid: next(x for x in lines if x.get("logger") == "dailyml.access") for rid, lines in found.items()}
    line = by_id["trace-abc.123"]
    assert line["service"] == "predictor" and line["level"] == "info"
    assert line["route"] == "/iris/predict" and line["status"] == 200 and line["method"] == "POST"
    assert line["dataset"] == "iris" and line["model_version"] == given.json()["model_version"]
    assert isinstance(line["duration_ms"], float) and line["timestamp"].endswith("Z")
    assert by_id["bad-1"]["status"] == 422
    assert by_id["admin-1"]["route"] == "/iris/predict/pending"
    text = predictor.log()
    assert ADMIN_TOKEN not in text
    assert "sepal_length" not in text, "request bodies are never logged"
    # Every line the service wrote is JSON (uvicorn's own lines included).
    raw = [ln for ln in text.splitlines() if ln.strip()]
    assert len(raw) == len(json_lines(text)), [ln for ln in raw if not ln.startswith("{")][:5]

"""The log formats, and /metrics summed over several worker processes (PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dailyml.observability.context import annotate, current_request_id, request_fields, request_scope
from dailyml.observability.logs import (
    BatchedStreamHandler,
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    log_format,
)
from tests.support.observability import Scrape
from tests.support.waiting import NotYet, wait_until


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("dailyml.test", logging.INFO, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    RequestIdFilter("predictor").filter(record)
    return record


def test_json_lines_carry_service_request_id_and_fields_only_from_the_list() -> None:
    with request_scope("abc-123"):
        record = _record("POST /iris/predict 200", dataset="iris", model_version=3, status=200, secret="x")
    line = json.loads(JsonFormatter().format(record))
    assert line["service"] == "predictor" and line["request_id"] == "abc-123"
    assert line["event"] == "POST /iris/predict 200" and line["level"] == "info"
    assert line["dataset"] == "iris" and line["model_version"] == 3 and line["status"] == 200
    assert "secret" not in line
    assert line["timestamp"].endswith("Z")


def test_exceptions_stay_on_one_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    RequestIdFilter("generator").filter(record)
    text = JsonFormatter().format(record)
    assert "\n" not in text and "ValueError: boom" in json.loads(text)["exception"]


def test_text_lines_show_the_request_id_and_fields() -> None:
    record = _record("daily iris succeeded", job="daily", dataset="iris")
    line = TextFormatter().format(record)
    assert "INFO dailyml.test [-] daily iris succeeded" in line and "dataset=iris" in line and "job=daily" in line


def test_request_scope_replaces_forged_ids_and_isolates_fields() -> None:
    assert current_request_id() is None
    with request_scope("bad id\nforged line") as rid:
        assert rid != "bad id\nforged line" and len(rid) == 32
        annotate(dataset="wine")
        assert request_fields() == {"dataset": "wine"}
    assert current_request_id() is None and request_fields() == {}
    annotate(dataset="ignored")  # outside a request: nowhere to go, no error
    assert request_fields() == {}


def test_batched_lines_are_written_together_soon_and_warnings_at_once() -> None:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, interval=1.0)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    try:
        handler.handle(_record("first"))
        handler.handle(_record("second"))
        assert stream.getvalue() == ""  # waiting for the batch
        written = wait_until(lambda: stream.getvalue() or NotYet(""), 30, "the batch to be written")
        assert written == "INFO first\nINFO second\n"
        handler.handle(_record("third"))
        warning = _record("trouble")
        warning.levelno, warning.levelname = logging.WARNING, "WARNING"
        handler.handle(warning)  # written at once, with what waited before it
        assert stream.getvalue().endswith("INFO third\nWARNING trouble\n")
        handler.handle(_record("last"))
    finally:
        handler.close()  # what waits is written
    assert stream.getvalue().endswith("WARNING trouble\nINFO last\n")


def test_log_format_is_json_or_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAILYML_LOG_FORMAT", raising=False)
    assert log_format() == "text"
    monkeypatch.setenv("DAILYML_LOG_FORMAT", "JSON")
    assert log_format() == "json"
    monkeypatch.setenv("DAILYML_LOG_FORMAT", "xml")
    with pytest.raises(ValueError):
        log_format()


WORKER = """
import sys
from dailyml.observability import metrics
metrics.record_predictions("iris", 2, ["setosa"] * int(sys.argv[1]), "online")
metrics.LOG_QUEUE_DEPTH.set(int(sys.argv[1]))
metrics.record_serving("iris", "model", "champion", 2, at=float(sys.argv[2]))
"""


def test_metrics_of_several_workers_are_summed_with_prometheus_multiproc_dir(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n, at in ((3, 1000.0), (4, 2000.0)):  # two "workers", each its own process
        subprocess.run([sys.executable, "-c", WORKER, str(n), str(at)], env=env, check=True, timeout=60)
    render = "import sys; from dailyml.observability.metrics import render; sys.stdout.write(render().decode())"
    text = subprocess.run(
        [sys.executable, "-c", render], env=env, check=True, timeout=60, capture_output=True, text=True
    ).stdout
    scrape = Scrape(text)
    assert scrape.value("dailyml_predictions_total", dataset="iris", label="setosa", model_version="2") == 7
    assert scrape.value("dailyml_serving_version", dataset="iris") == 2
    assert scrape.value("dailyml_serving_version_changed_timestamp_seconds", dataset="iris") == 2000.0


def test_clients_send_the_current_request_id_or_a_fresh_one() -> None:
    import httpx

    from dailyml.clients import ServiceClient

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-Request-ID"])
        return httpx.Response(200, json={})

    with ServiceClient("http://127.0.0.1:9", transport=httpx.MockTransport(handler)) as client:
        client.get("/a")
        client.get("/b")
        with request_scope("run-42"):
            client.get("/c")
            client.post("/d", json={})
    assert seen[2:] == ["run-42", "run-42"]
    assert len(set(seen[:2])) == 2 and all(len(s) == 32 for s in seen[:2])  # one per call outside a run

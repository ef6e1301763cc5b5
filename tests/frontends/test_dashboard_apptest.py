"""The dashboard script run by ``streamlit.testing.v1.AppTest`` against real predictor processes."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dailyml.contracts.scheduler import RunPage, ScheduledJobOut, ScheduleOut
from frontends.dashboard import run
from tests.frontends.conftest import LABELLED_PER_DATASET, TOTAL_PER_DATASET, Stack
from tests.support import clock

pytestmark = pytest.mark.processes

SCRIPT = Path(run.__file__).with_name("app.py")


def _app(stack: Stack, monkeypatch: pytest.MonkeyPatch, **env: str) -> AppTest:
    for key, value in {**stack.env, **env}.items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(str(SCRIPT), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.main.get("vega_lite_chart")]


def _chart_rows(at: AppTest, index: int) -> list[dict]:
    """The data rows of the ``index``-th chart (Streamlit ships them as Arrow beside the spec)."""
    element = at.main.get("vega_lite_chart")[index]
    rows: list[dict] = []
    for dataset in element.proto.datasets:
        rows += pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    return rows


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_seeded_iris_shows_counts_latest_sample_heatmap_chart_and_table(
    seeded_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(seeded_stack, monkeypatch)
    metrics = _metrics(at)
    total = TOTAL_PER_DATASET
    assert metrics["Predictions logged"] == f"{total:,}"
    assert metrics["With a known true label"] == f"{LABELLED_PER_DATASET:,}"
    assert metrics["Champion model"] == "v1"

    charts = _charts(at)
    assert len(charts) == 3  # confusion heatmap, accuracy over time, data drift (PSI per feature)
    heatmap = charts[0]
    assert heatmap["layer"][0]["mark"]["type"] == "rect"
    cells = _chart_rows(at, 0)
    assert {c["actual"] for c in cells} == {"setosa", "versicolor", "virginica"}
    assert sum(c["count"] for c in cells) == LABELLED_PER_DATASET

    table = at.dataframe[0].value
    assert len(table) == 20
    assert {"sepal_length", "predicted", "actual", "model", "source"} <= set(table.columns)
    assert any(c.value == f"rows 1–20 of {total}, newest first" for c in at.caption)
    # A synthetic sample is shown with its drawing and a verdict.
    assert any(type(e).__name__ == "Image" for e in at.main)
    assert any("predicted" in m.value and "actual" in m.value for m in at.markdown)


def test_history_pages_through_the_api(seeded_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(seeded_stack, monkeypatch)
    total, pages = TOTAL_PER_DATASET, -(-TOTAL_PER_DATASET // 20)
    at.number_input(key="page-iris").set_value(pages).run()
    assert len(at.dataframe[0].value) == total - 20 * (pages - 1)
    assert any(c.value == f"rows {20 * (pages - 1) + 1}–{total} of {total}, newest first" for c in at.caption)
    # The oldest page holds the two-week-old predictions.
    assert at.dataframe[0].value["time"].min() < at.dataframe[0].value["time"].max()


def test_wine_shows_mae_and_exact_accuracy(seeded_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(seeded_stack, monkeypatch)
    at.sidebar.radio[0].set_value("wine").run()
    assert not at.exception
    measures = {row["measure"] for row in _chart_rows(at, 1)}
    assert {"exact-grade accuracy", "MAE (grades)"} <= measures
    cells = _chart_rows(at, 0)
    assert {c["actual"] for c in cells} == {str(g) for g in range(3, 10)}  # every grade, even empty ones


def test_missing_generator_and_scheduler_are_stated(seeded_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(seeded_stack, monkeypatch)
    infos = [i.value for i in at.info]
    assert any(i.startswith("Generator not available") for i in infos)
    assert any(i.startswith("Scheduler not available") for i in infos)


EMPTY_STATES = (
    "No synthetic sample has been predicted yet",
    "No predictions with a known true label yet",
    "No labelled predictions yet",
    "No predictions yet",
)


def _empty_state(at: AppTest, text: str) -> str:
    (info,) = [i.value for i in at.info if i.value.startswith(text)]
    return str(info)


def test_empty_store_shows_empty_states(empty_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(empty_stack, monkeypatch)  # the scheduler's URL is a port nobody listens on
    assert _metrics(at)["Predictions logged"] == "0"
    for text in EMPTY_STATES:
        info = _empty_state(at, text)
        # No next run to tell: say the scheduler cannot be asked, and how to run the loop without it.
        assert "The scheduler service is not reachable" in info
        assert "`dailyml run daily --local`" in info
        assert "Next daily run" not in info
    assert _charts(at) == []
    assert len(at.dataframe) == 1  # only the model versions table


class _SchedulerStub(BaseHTTPRequestHandler):
    """``GET /schedule`` and ``GET /runs`` of a scheduler that has run nothing yet, in the shapes of
    the scheduler's contract (``ScheduleOut``, ``RunPage``). A stub rather than the service: the
    real one may run the daily loop when it starts, and the daily cron fires at a time of day."""

    answers: dict[str, str] = {}

    def do_GET(self) -> None:
        body = self.answers.get(self.path.split("?")[0])
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write((body or '{"detail": "not found"}').encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def idle_scheduler() -> Iterator[tuple[str, datetime]]:
    """A scheduler whose next daily run is 5 h 3 min and a half from now: its URL and that time."""
    next_run = clock.now().replace(microsecond=0) + timedelta(hours=5, minutes=3, seconds=30)
    job = {"cron": "0 6 * * *", "timezone": "UTC", "current_period": None, "datasets": ["iris", "wine"]}
    schedule = ScheduleOut(
        timezone="UTC",
        fast=False,
        misfire_grace_hours=12,
        promotion_margin=0.0,
        retry_interval_seconds=60,
        jobs=[
            ScheduledJobOut(job="daily", next_run_time=next_run, **job),  # type: ignore[arg-type]
            ScheduledJobOut(job="retrain", next_run_time=next_run + timedelta(days=3), **job),  # type: ignore[arg-type]
        ],
    )
    handler = type("Handler", (_SchedulerStub,), {})
    handler.answers = {"/schedule": schedule.model_dump_json(), "/runs": RunPage(total=0, items=[]).model_dump_json()}
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", next_run
    finally:
        server.shutdown()
        server.server_close()


def test_empty_states_say_when_the_next_daily_run_is_due(
    empty_stack: Stack, idle_scheduler: tuple[str, datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, next_run = idle_scheduler
    at = _app(empty_stack, monkeypatch, DAILYML_SCHEDULER_URL=url)
    line = re.compile(
        r"Next daily run: (\d{4}-\d\d-\d\d \d\d:\d\d) UTC \(in (\d+) h (\d+) min\)\. "
        r"To run it now: `dailyml run daily`\."
    )
    for text in (*EMPTY_STATES, "No scheduler runs yet"):
        info = _empty_state(at, text)
        match = line.search(info)
        assert match, info
        # The scheduler's time, in UTC with its date; how far off, whatever the time of day: the
        # page was drawn within a few minutes of the stub's start, so 5 h 3 min down to 5 h 0 min.
        assert match.group(1) == f"{next_run:%Y-%m-%d %H:%M}"
        hours, minutes = int(match.group(2)), int(match.group(3))
        assert hours == 5 and 0 <= minutes <= 3


def test_predictor_down_is_an_error_message_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYML_PREDICTOR_URL", "http://127.0.0.1:9")
    at = AppTest.from_file(str(SCRIPT), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("predictor service is not reachable" in e.value for e in at.error)

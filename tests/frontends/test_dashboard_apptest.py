"""The dashboard script run by ``streamlit.testing.v1.AppTest`` against real predictor processes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from frontends.dashboard import run
from tests.frontends.conftest import LABELLED_PER_DATASET, TOTAL_PER_DATASET, Stack

pytestmark = pytest.mark.processes

SCRIPT = Path(run.__file__).with_name("app.py")


def _app(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    for key, value in stack.env.items():
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
    assert len(charts) == 2  # confusion heatmap + accuracy over time
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


def test_empty_store_shows_empty_states(empty_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(empty_stack, monkeypatch)
    assert _metrics(at)["Predictions logged"] == "0"
    infos = " ".join(i.value for i in at.info)
    assert "No synthetic sample has been predicted yet" in infos
    assert "No predictions with a known true label yet" in infos
    assert "No labelled predictions yet" in infos
    assert "No predictions yet" in infos
    assert _charts(at) == []
    assert len(at.dataframe) == 1  # only the model versions table


def test_predictor_down_is_an_error_message_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYML_PREDICTOR_URL", "http://127.0.0.1:9")
    at = AppTest.from_file(str(SCRIPT), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("predictor service is not reachable" in e.value for e in at.error)

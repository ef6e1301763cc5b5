"""The dashboard's data drift panel against a real predictor whose recent iris inputs have longer
petals than the reference: the two petal features are flagged, the sepals are not."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dailyml.datasets import IRIS
from dailyml.featurestore import training_frame
from frontends.dashboard import run
from tests.frontends.conftest import Stack, copy_to_docs, screenshot
from tests.support.browser import PAGE_TIMEOUT_MS
from tests.support.databases import sqlite_copy
from tests.support.processes import start_service
from tests.support.waiting import NotYet, wait_until

pytestmark = pytest.mark.processes

SCRIPT = Path(run.__file__).with_name("app.py")
SHIFTED = 300


@pytest.fixture(scope="module")
def drifted_stack(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("frontends-drift")
    db = sqlite_copy(sqlite_template, tmp)
    predictor = start_service("predictor", db.env(), tmp / "logs")
    stack = Stack(db, predictor, tmp / "logs")
    try:
        frame = training_frame(db.engine, IRIS)
        frame = frame[frame["split"] == "train"]
        rng = np.random.default_rng(11)
        rows = []
        for i in rng.integers(0, len(frame), SHIFTED):
            row = {f: float(frame.iloc[int(i)][f]) for f in IRIS.feature_names}
            row["petal_length"] += 2.0  # longer petals than any flower the models saw
            row["petal_width"] += 0.8
            rows.append(row)
        with stack.client() as client:
            client.predict_batch("iris", rows)

            # The prediction log writes in the background.
            def logged() -> bool | NotYet:
                n = client.drift("iris", window="24h").n_window
                return n == SHIFTED or NotYet(f"{n} inputs in the window")

            wait_until(logged, 30, f"the {SHIFTED} shifted inputs to be logged", interval=0.05)
        yield stack
    finally:
        predictor.stop()
        db.engine.dispose()


def test_drift_panel_names_the_drifted_features(drifted_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in drifted_stack.env.items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(str(SCRIPT), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert any(e.value == "4 of 4 features drifted: petal_length, petal_width" for e in at.error) or any(
        re.fullmatch(r"\d of 4 features drifted: .*petal_length.*", e.value) for e in at.error
    ), [e.value for e in at.error]
    verdict = next(e.value for e in at.error if "features drifted" in e.value)
    assert "petal_length" in verdict and "petal_width" in verdict and "sepal_width" not in verdict
    chart = next(c for c in at.main.get("vega_lite_chart") if "population stability index" in c.proto.spec)
    rows: list[dict[str, Any]] = []
    for dataset in chart.proto.datasets:
        rows += pa.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    state = {r["feature"]: r["state"] for r in rows if "feature" in r}
    assert state["petal_length"] == "drifted" and state["sepal_width"] == "stable"
    assert json.loads(chart.proto.spec)["layer"][1]["mark"]["type"] == "rule"  # the 0.2 threshold
    # Another window: the count of newest inputs.
    at.segmented_control(key="drift-window-iris").set_value("newest 500").run()
    assert not at.exception
    assert any("features drifted" in e.value for e in at.error)


@pytest.mark.browser
def test_drift_panel_in_the_browser(page: Any, drifted_stack: Stack) -> None:
    dashboard = start_service("dashboard", drifted_stack.env, drifted_stack.log_dir, ready_path="/_stcore/health")
    try:
        page.goto(f"{dashboard.url}/?dataset=iris", timeout=PAGE_TIMEOUT_MS)
        panel = page.locator(".st-key-drift-panel-iris")
        panel.get_by_text(re.compile(r"features drifted: .*petal_length")).wait_for(timeout=PAGE_TIMEOUT_MS)
        panel.locator('[data-testid="stVegaLiteChart"]').wait_for(timeout=PAGE_TIMEOUT_MS)
        page.wait_for_timeout(1000)  # let the chart draw before the screenshot
        path = screenshot(page, "dashboard-iris-drift", height=2300)
        panel.scroll_into_view_if_needed()
        target = path.with_name("dashboard-drift.png")
        panel.screenshot(path=str(target))
        copy_to_docs(target)
    finally:
        dashboard.stop()

"""Both apps in a real Chromium, against real service processes: fill, click, read what a person sees.

Screenshots go to ``test-artifacts/screenshots/`` (``DAILYML_UPDATE_DOC_SCREENSHOTS=1`` also copies
them to ``docs/img/`` for the README).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dailyml.clients import PredictorClient
from dailyml.contracts import FeatureOut, SpecOut
from dailyml.datasets import FILES_VARIABLE
from frontends.common.forms import default_value
from frontends.gradio_app.app import build_app
from tests.frontends import extra_datasets
from tests.frontends.conftest import Stack, copy_to_docs, launch_in_process, screenshot
from tests.frontends.spec_predictor import spec_predictor
from tests.support.browser import PAGE_TIMEOUT_MS
from tests.support.databases import sqlite_copy
from tests.support.net import free_port
from tests.support.processes import ServiceProcess, start_service

pytestmark = [pytest.mark.browser, pytest.mark.processes]


@pytest.fixture(scope="module")
def gradio(seeded_stack: Stack) -> Iterator[ServiceProcess]:
    service = start_service("gradio", seeded_stack.env, seeded_stack.log_dir, ready_path="/")
    yield service
    service.stop()


@pytest.fixture(scope="module")
def dashboard(seeded_stack: Stack) -> Iterator[ServiceProcess]:
    service = start_service("dashboard", seeded_stack.env, seeded_stack.log_dir, ready_path="/_stcore/health")
    yield service
    service.stop()


@dataclass
class FileGradio:
    url: str
    predictor_url: str


@pytest.fixture(scope="module")
def gradio_with_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileGradio]:
    """``dailyml serve gradio`` with the test-only datasets registered by ``DAILYML_DATASET_FILES``,
    against the stand-in predictor that serves them."""
    specs = {spec.name: spec for spec in (extra_datasets.TUMOURS, extra_datasets.EXAMS)}
    with spec_predictor(specs) as predictor_url:
        env = {"DAILYML_PREDICTOR_URL": predictor_url, FILES_VARIABLE: str(Path(extra_datasets.__file__).resolve())}
        service = start_service("gradio", env, tmp_path_factory.mktemp("gradio-files"), ready_path="/")
        try:
            yield FileGradio(service.url, predictor_url)
        finally:
            service.stop()


class HeldSpecClient(PredictorClient):
    """A predictor client whose ``spec`` calls wait while ``hold`` is set and not yet released: it
    holds the page's load event (which asks the predictor for a late tab's spec) while a test clicks."""

    hold: threading.Event | None = None

    def spec(self, dataset: str) -> SpecOut:
        if self.hold is not None:
            self.hold.wait(timeout=60)
        return super().spec(dataset)


@dataclass
class LateGradio:
    url: str
    client: HeldSpecClient


@pytest.fixture(scope="module")
def late_gradio(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LateGradio]:
    """The Gradio app built while its predictor was not yet running (as when all containers start
    together): its tabs are built from the local spec, the predictor comes up afterwards."""
    tmp = tmp_path_factory.mktemp("late-gradio")
    predictor_port = free_port()
    client = HeldSpecClient(f"http://127.0.0.1:{predictor_port}", timeout=10)
    demo = build_app(client=client)
    url = launch_in_process(demo)
    db = sqlite_copy(sqlite_template, tmp)
    predictor = start_service("predictor", db.env(), tmp / "logs", port=predictor_port)
    try:
        yield LateGradio(url, client)
    finally:
        predictor.stop()
        demo.close()
        db.engine.dispose()


# -- Gradio ---------------------------------------------------------------------------------------
def _set_number(page: Any, elem_id: str, value: float) -> None:
    field = page.locator(f"#{elem_id} input")
    field.fill(str(value))
    field.press("Tab")  # Gradio updates a number on blur too; the redraw follows the change


def _sepal_height(page: Any) -> float:
    # The first sepal points straight down: its box height is its drawn length.
    box = page.locator('#iris-drawing [data-part="sepal"]').first.bounding_box()
    return float(box["height"])


def test_gradio_iris_predicts_and_draws_the_flower_from_the_inputs(page: Any, gradio: ServiceProcess) -> None:
    page.goto(gradio.url, timeout=PAGE_TIMEOUT_MS)
    page.locator("#iris-sepal_length input").wait_for(timeout=PAGE_TIMEOUT_MS)
    # The defaults are the reference medians served by the predictor's /spec.
    assert page.locator("#iris-sepal_length input").input_value() == "5.8"
    page.get_by_text(re.compile(r"Champion models: iris v1")).wait_for(timeout=PAGE_TIMEOUT_MS)

    before = _sepal_height(page)
    _set_number(page, "iris-sepal_length", 7.6)
    page.wait_for_function(
        "h => document.querySelector('#iris-drawing [data-part=\"sepal\"]').getBoundingClientRect().height > h + 20",
        arg=before,
        timeout=PAGE_TIMEOUT_MS,
    )
    assert _sepal_height(page) / before == pytest.approx(7.6 / 5.8, rel=0.05)

    virginica = {"sepal_length": 7.2, "sepal_width": 3.2, "petal_length": 6.0, "petal_width": 2.2}
    for name, value in virginica.items():
        _set_number(page, f"iris-{name}", value)
    page.click("#iris-predict")
    result = page.locator("#iris-result")
    result.get_by_text("virginica").wait_for(timeout=PAGE_TIMEOUT_MS)
    assert "model version v1" in result.inner_text()
    probabilities = page.locator("#iris-probabilities").inner_text()
    for variety in ("setosa", "versicolor", "virginica"):
        assert variety in probabilities
    assert re.search(r"\d+%", probabilities)
    assert "sepal 7.2 × 3.2 cm · petal 6 × 2.2 cm" in page.locator("#iris-drawing").inner_text()
    copy_to_docs(screenshot(page, "gradio-iris"))


def test_gradio_wine_random_sample_predicts_grade_with_glass_and_scale(page: Any, gradio: ServiceProcess) -> None:
    page.goto(gradio.url, timeout=PAGE_TIMEOUT_MS)
    page.get_by_role("tab", name="Wine quality").click()
    page.locator("#wine-random").click()
    page.locator("#wine-note").get_by_text("real wine sample").wait_for(timeout=PAGE_TIMEOUT_MS)
    page.locator("#wine-wine_type").get_by_text("red", exact=True).click()
    page.wait_for_selector('#wine-drawing [data-wine-type="red"]', timeout=PAGE_TIMEOUT_MS)
    page.click("#wine-predict")
    page.locator("#wine-result").get_by_text(re.compile(r"Grade \d of 3–9")).wait_for(timeout=PAGE_TIMEOUT_MS)
    text = page.locator("#wine-result").inner_text()
    grade = int(re.search(r"Grade (\d)", text).group(1))  # type: ignore[union-attr]
    assert 3 <= grade <= 9 and "raw score" in text and "model version v1" in text
    assert page.locator(f'#wine-drawing svg[data-predicted="{grade}"]').count() == 1
    assert page.locator('#wine-drawing [data-wine-type="red"]').count() == 1
    copy_to_docs(screenshot(page, "gradio-wine"))


def _shown_values(page: Any, dataset: str, features: list[FeatureOut]) -> dict[str, Any]:
    """What the form shows, feature by feature (numbers as floats, the checked choice)."""
    shown: dict[str, Any] = {}
    for feature in features:
        if feature.kind == "category":
            shown[feature.name] = page.locator(f"#{dataset}-{feature.name} input:checked").get_attribute("value")
        else:
            text = page.locator(f"#{dataset}-{feature.name} input").input_value()
            shown[feature.name] = float(text) if text else None
    return shown


@pytest.mark.parametrize(
    ("app", "dataset"),
    [
        *((app, dataset) for app in ("built_with_spec", "built_before_predictor") for dataset in ("iris", "wine")),
        ("registered_by_file", "tumours"),  # datasets that frontends/ does not name
        ("registered_by_file", "exams"),
    ],
)
def test_gradio_first_click_on_predict_sends_the_values_shown(
    page: Any, request: pytest.FixtureRequest, app: str, dataset: str
) -> None:
    """Predict clicked the instant it can be clicked predicts what the form shows: never zeros or
    blanks from before the form got its values, even while the page's load is still on its way."""
    with PredictorClient(_predictor_url(request, app)) as client:
        served = client.spec(dataset)
    names = [f.name for f in served.features]
    sent: list[list[Any]] = []

    def on_request(req: Any) -> None:  # the predict call carries the features and the sample state
        data = (req.post_data_json or {}).get("data") if "queue/join" in req.url else None
        if isinstance(data, list) and len(data) == len(names) + 1:
            sent.append(data[:-1])

    page.on("request", on_request)
    held: threading.Event | None = None
    if app == "built_with_spec":
        url = request.getfixturevalue("gradio").url
    elif app == "registered_by_file":
        url = request.getfixturevalue("gradio_with_files").url
    else:
        late: LateGradio = request.getfixturevalue("late_gradio")
        url, held = late.url, threading.Event()
        late.client.hold = held  # the page's load waits for the predictor's spec until released
    button = page.locator(f"#{dataset}-predict")
    try:
        page.goto(url, timeout=PAGE_TIMEOUT_MS)
        page.get_by_role("tab", name=served.title).click()
        button.wait_for(state="visible", timeout=PAGE_TIMEOUT_MS)
        clicked = button.is_enabled()
        if clicked:  # a quick user: the button is there and says it can be pressed
            button.click()
    finally:
        if held is not None:
            held.set()
    if not clicked:
        button.click(timeout=PAGE_TIMEOUT_MS)  # Playwright waits until it is enabled
    result = page.locator(f"#{dataset}-result")
    result.get_by_text(re.compile(r"model version|Prediction failed")).wait_for(timeout=PAGE_TIMEOUT_MS)
    note = page.locator(f"#{dataset}-note").inner_text()
    assert "⚠️" not in note and "Prediction failed" not in result.inner_text(), note
    expected = served.target_description if served.task == "classification" else "Grade "
    assert expected in result.inner_text() and "model version v1" in result.inner_text()

    # The form shows the predictor's reference medians, and exactly those went to the predictor.
    medians = {f.name: default_value(f) for f in served.features}
    shown = _shown_values(page, dataset, served.features)
    assert shown == pytest.approx(medians)
    assert len(sent) == 1
    assert dict(zip(names, sent[0], strict=True)) == pytest.approx(shown)
    if app == "registered_by_file":
        screenshot(page, f"gradio-{dataset}")


def _predictor_url(request: pytest.FixtureRequest, app: str) -> str:
    if app == "built_with_spec":
        return str(request.getfixturevalue("seeded_stack").predictor.url)
    if app == "registered_by_file":
        return str(request.getfixturevalue("gradio_with_files").predictor_url)
    return str(request.getfixturevalue("late_gradio").client.base_url)


def test_gradio_rejected_input_shows_a_short_message(page: Any, gradio: ServiceProcess) -> None:
    page.goto(gradio.url, timeout=PAGE_TIMEOUT_MS)
    page.locator("#iris-sepal_length input").wait_for(timeout=PAGE_TIMEOUT_MS)
    _set_number(page, "iris-petal_width", 0)  # allowed by the field, refused by the API (> 0)
    page.click("#iris-predict")
    note = page.locator("#iris-note")
    note.get_by_text("greater than 0").wait_for(timeout=PAGE_TIMEOUT_MS)
    assert "Petal width" in note.inner_text()
    _set_number(page, "iris-petal_width", 50)  # above the field's maximum: the same kind of message
    page.click("#iris-predict")
    note.get_by_text("less than or equal to 30").wait_for(timeout=PAGE_TIMEOUT_MS)
    assert "Petal width" in note.inner_text()
    assert "Traceback" not in page.content()
    screenshot(page, "gradio-rejected-input")


# -- Streamlit dashboard --------------------------------------------------------------------------
def _open_dashboard(page: Any, url: str, dataset: str) -> None:
    page.goto(f"{url}/?dataset={dataset}", timeout=PAGE_TIMEOUT_MS)
    page.get_by_text(re.compile(r"^updated \d\d:\d\d:\d\d$")).wait_for(timeout=PAGE_TIMEOUT_MS)


def test_dashboard_shows_table_heatmap_and_chart_for_seeded_data(page: Any, dashboard: ServiceProcess) -> None:
    _open_dashboard(page, dashboard.url, "iris")
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.nth(1).wait_for(timeout=PAGE_TIMEOUT_MS)
    charts.nth(2).wait_for(timeout=PAGE_TIMEOUT_MS)
    assert charts.count() == 3  # confusion heatmap, accuracy over time, data drift
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.get_by_text(re.compile(r"^rows 1–20 of \d+, newest first$")).wait_for(timeout=PAGE_TIMEOUT_MS)
    page.get_by_text(re.compile(r"^\d+ labelled predictions · rows: actual")).wait_for(timeout=PAGE_TIMEOUT_MS)
    # The latest synthetic sample: its flower and the verdict.
    page.locator('[data-testid="stImage"] img').first.wait_for(timeout=PAGE_TIMEOUT_MS)
    # (the badge's text starts with its icon's ligature name)
    page.get_by_text(re.compile(r"(correct|wrong)$")).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.get_by_text("Generator not available", exact=False).wait_for(timeout=PAGE_TIMEOUT_MS)
    screenshot(page, "dashboard-iris-predictor-only", height=2300)


def test_dashboard_empty_store_shows_empty_states(page: Any, empty_stack: Stack) -> None:
    dashboard = start_service("dashboard", empty_stack.env, empty_stack.log_dir, ready_path="/_stcore/health")
    try:
        _open_dashboard(page, dashboard.url, "iris")
        for text in (
            "No synthetic sample has been predicted yet",
            "No predictions with a known true label yet",
            "No labelled predictions yet, so no metrics to plot",
            "No predictions yet",
        ):
            page.get_by_text(text, exact=False).first.wait_for(timeout=PAGE_TIMEOUT_MS)
        assert page.locator('[data-testid="stVegaLiteChart"]').count() == 0
        copy_to_docs(screenshot(page, "dashboard-empty", height=1600))
    finally:
        dashboard.stop()

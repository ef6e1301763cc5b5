"""Both frontends on datasets that nothing in ``frontends/`` names: the specs of
``extra_datasets.py`` (a classification with string labels, a regression without a categorical
feature), given to the apps' builders or registered through ``DAILYML_DATASET_FILES``, against the
stand-in predictor of ``spec_predictor.py``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
import pytest
from gradio_client import Client
from streamlit.testing.v1 import AppTest

from dailyml.clients import PredictorClient
from dailyml.datasets import FILES_VARIABLE, SPECS, DatasetSpec, Feature
from frontends.common.forms import default_value, local_spec, step_for
from frontends.gradio_app.app import DatasetForm, _form_for, _layout_inputs, build_app
from tests.frontends import extra_datasets
from tests.frontends.conftest import launch_in_process
from tests.frontends.extra_datasets import EXAMS, TUMOURS
from tests.frontends.spec_predictor import LOGGED, spec_predictor
from tests.support.processes import start_service

pytestmark = pytest.mark.processes

EXTRA: dict[str, DatasetSpec] = {TUMOURS.name: TUMOURS, EXAMS.name: EXAMS}
NOBODY = "http://127.0.0.1:9"  # the discard port: nothing answers


@pytest.fixture(scope="module")
def predictor() -> Iterator[str]:
    with spec_predictor(EXTRA) as url:
        yield url


def _asked(predictor: str, dataset: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the predictor answers to ``body``, asked directly."""
    with PredictorClient(predictor) as client:
        return client.predict(dataset, body)


# -- Gradio ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gradio(predictor: str) -> Iterator[Client]:
    demo = build_app(predictor, specs=EXTRA)
    url = launch_in_process(demo)
    try:
        yield Client(f"{url}/", verbose=False)
    finally:
        demo.close()


def test_gradio_classification_tab_shows_the_label_and_its_probabilities(gradio: Client, predictor: str) -> None:
    values = (14.0, 25.0, 0.09)
    result, probabilities, note = gradio.predict(*values, None, api_name="/tumours_predict")  # no picture
    answer = _asked(predictor, "tumours", dict(zip(TUMOURS.feature_names, values, strict=True)))
    diagnosis = answer["diagnosis"]
    assert result.startswith(f"## Diagnosis: *{diagnosis}*")
    assert f"{answer['probabilities'][diagnosis]:.0%} sure" in result and "model version **v1**" in result
    assert probabilities["label"] == diagnosis
    confidences = {c["label"]: c["confidence"] for c in probabilities["confidences"]}
    assert confidences == pytest.approx(answer["probabilities"])
    assert note == ""


def test_gradio_regression_tab_shows_the_grade_on_its_own_scale(gradio: Client, predictor: str) -> None:
    result, visuals, note = gradio.predict(12.0, 8.0, None, api_name="/exams_predict")
    answer = _asked(predictor, "exams", {"hours_studied": 12.0, "hours_slept": 8.0})
    assert result.startswith(f"## Grade {answer['grade']} of 1–6")
    assert f"raw score **{answer['score']:.2f}**" in result
    assert f'data-predicted="{answer["grade"]}"' in visuals
    grades = re.findall(r'font-weight="\d+" fill="#1d2433">(\d+)</text>', visuals)
    assert grades == [str(g) for g in range(1, 7)]
    assert "dailyml-wine-glass" not in visuals and "dailyml-iris" not in visuals  # no picture of its own


def test_gradio_random_sample_fills_the_inputs_of_a_new_dataset(gradio: Client) -> None:
    *values, note = gradio.predict(api_name="/tumours_random_sample")
    assert len(values) == 3 and all(isinstance(v, float) and v > 0 for v in values)
    assert "real tumours sample" in note


def test_gradio_refusal_of_a_new_dataset_names_the_field(gradio: Client) -> None:
    result, _, note = gradio.predict(0.0, 25.0, 0.09, None, api_name="/tumours_predict")
    assert result == "Prediction failed."
    assert "radius must be greater than 0" in note and "Traceback" not in note


def test_gradio_inputs_start_at_the_reference_medians_within_the_ranges(predictor: str) -> None:
    with PredictorClient(predictor) as client:
        form = _form_for(client, TUMOURS)
        served = client.spec("tumours")
    assert form.from_service
    with gr.Blocks():
        _layout_inputs(form, per_row=3)
    for feature, number in zip(served.features, form.inputs, strict=True):
        median = feature.reference["median"]  # rounded to the input's step
        assert number.value == default_value(feature) == pytest.approx(median, abs=step_for(feature))
        assert (number.minimum, number.maximum) == (feature.minimum, feature.maximum)
        assert number.interactive


def test_gradio_inputs_start_at_the_example_row_without_reference_values() -> None:
    # A predictor without reference rows serves the spec without medians.
    form = DatasetForm(local_spec(EXAMS), True, EXAMS.example)
    late = DatasetForm(local_spec(EXAMS), False, EXAMS.example)  # not served: waits for the medians
    with gr.Blocks():
        _layout_inputs(form, per_row=2)
        _layout_inputs(late, per_row=2)
    assert {f.name: c.value for f, c in zip(form.features, form.inputs, strict=True)} == EXAMS.example_row
    assert all(c.value is None and not c.interactive for c in late.inputs)


def test_gradio_many_choices_go_in_a_dropdown_few_in_radio_buttons() -> None:
    days = DatasetSpec(
        name="visits",
        title="Visits",
        task="classification",
        target="busy",
        target_description="Busy or not",
        labels=("yes", "no"),
        label_type=str,
        features=(Feature("day", "Day of the week", kind="category", categories=("mo", "tu", "we", "th", "fr", "sa")),),
        loader=lambda _: pd.DataFrame(),
        example={"day": "we"},
    )
    wine_form = DatasetForm(local_spec(SPECS["wine"]), True, SPECS["wine"].example)
    days_form = DatasetForm(local_spec(days), True, days.example)
    with gr.Blocks():
        _layout_inputs(wine_form, per_row=3)
        _layout_inputs(days_form, per_row=3)
    assert isinstance(wine_form.inputs[0], gr.Radio)
    assert isinstance(days_form.inputs[0], gr.Dropdown) and days_form.inputs[0].value == "we"


def test_gradio_process_gets_a_tab_for_a_dataset_registered_by_file(predictor: str, tmp_path: Path) -> None:
    """``dailyml serve gradio`` with ``DAILYML_DATASET_FILES`` naming the test's file: a tab per
    dataset of it, besides iris and wine, and the refused field named by its description."""
    env = {"DAILYML_PREDICTOR_URL": predictor, FILES_VARIABLE: str(Path(extra_datasets.__file__).resolve())}
    service = start_service("gradio", env, tmp_path / "logs", ready_path="/")
    try:
        client = Client(f"{service.url}/", verbose=False)
        names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
        for dataset in (*SPECS, *EXTRA):
            assert f"/{dataset}_predict" in names
        result, _, note = client.predict(*EXAMS.example_row.values(), None, api_name="/exams_predict")
        assert result.startswith("## Grade ") and note == ""
        _, _, note = client.predict(0.0, 25.0, 0.09, None, api_name="/tumours_predict")
        assert "Mean radius must be greater than 0" in note
    finally:
        service.stop()


# -- Streamlit dashboard --------------------------------------------------------------------------
def _dashboard_script(specs: "dict[str, DatasetSpec]") -> None:  # noqa: UP037 (run as a script of its own)
    from frontends.dashboard.app import main

    main(specs)


def _dashboard(predictor: str, monkeypatch: pytest.MonkeyPatch, specs: dict[str, DatasetSpec]) -> AppTest:
    monkeypatch.setenv("DAILYML_PREDICTOR_URL", predictor)
    monkeypatch.setenv("DAILYML_GENERATOR_URL", NOBODY)
    monkeypatch.setenv("DAILYML_SCHEDULER_URL", NOBODY)
    at = AppTest.from_function(_dashboard_script, kwargs={"specs": specs}, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def test_dashboard_lists_every_dataset_it_is_given(predictor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _dashboard(predictor, monkeypatch, EXTRA)
    assert at.sidebar.radio[0].options == ["Breast tumours", "Exam grades"]
    assert "Breast tumours · monitoring" in [t.value for t in at.title]


def test_dashboard_classification_view_with_string_labels(predictor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _dashboard(predictor, monkeypatch, EXTRA)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Predictions logged"] == str(LOGGED) and metrics["Champion model"] == "v1"
    assert not [e for e in at.main if type(e).__name__ == "Image"]  # neither flower nor glass
    features = at.dataframe[0].value  # the latest synthetic sample, feature by feature
    assert list(features["feature"]) == ["Mean radius", "Mean texture", "Mean smoothness"]
    verdict = next(m.value for m in at.markdown if "**predicted**" in m.value)
    assert re.search(r"\*\*predicted\*\* \| \*\*(malignant|benign)\*\*", verdict)
    assert "Accuracy over time" in [s.value for s in at.subheader]
    recent = at.dataframe[1].value
    assert set(recent["predicted"]) <= {"malignant", "benign"} and len(recent) == LOGGED


def test_dashboard_regression_view_draws_the_grade_on_its_scale(
    predictor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _dashboard(predictor, monkeypatch, EXTRA)
    at.sidebar.radio[0].set_value("exams").run()
    assert not at.exception, at.exception
    images = [e for e in at.main if type(e).__name__ == "Image"]
    assert len(images) == 1  # the grade scale only: no wine glass
    assert "MAE and exact-grade accuracy over time" in [s.value for s in at.subheader]
    assert set(at.dataframe[1].value["predicted"]) <= {str(g) for g in range(1, 7)}

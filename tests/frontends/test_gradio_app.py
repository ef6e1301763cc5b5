"""The Gradio app against a real predictor process, driven through ``gradio_client`` (its API)."""

from __future__ import annotations

from collections.abc import Iterator

import gradio as gr
import pytest
from gradio_client import Client

from dailyml.clients import PredictorClient
from dailyml.datasets import IRIS, WINE
from frontends.common.forms import local_spec
from frontends.gradio_app.app import (
    DatasetForm,
    _collect,
    _late_form_updates,
    _layout_inputs,
    build_app,
)
from tests.frontends.conftest import Stack, launch_in_process
from tests.support.examples import IRIS_OK, WINE_OK
from tests.support.net import free_port

pytestmark = pytest.mark.processes

# The inputs in feature order: each spec's example row (a setosa, a red wine).
IRIS_SETOSA = tuple(IRIS_OK.values())
WINE_RED = tuple(WINE_OK.values())


def _serve(predictor_url: str) -> Iterator[Client]:
    demo = build_app(predictor_url)
    url = launch_in_process(demo)
    try:
        yield Client(f"{url}/", verbose=False)
    finally:
        demo.close()


@pytest.fixture(scope="module")
def app(seeded_stack: Stack) -> Iterator[Client]:
    yield from _serve(seeded_stack.predictor.url)


@pytest.fixture(scope="module")
def app_without_predictor() -> Iterator[Client]:
    yield from _serve(f"http://127.0.0.1:{free_port()}")


def test_iris_prediction_shows_variety_probabilities_version_and_flower(app: Client) -> None:
    result, probabilities, drawing, note = app.predict(*IRIS_SETOSA, api_name="/iris_predict")
    assert "setosa" in result and "model version **v1**" in result
    assert probabilities["label"] == "setosa"
    confidences = {c["label"]: c["confidence"] for c in probabilities["confidences"]}
    assert set(confidences) == {"setosa", "versicolor", "virginica"}
    assert sum(confidences.values()) == pytest.approx(1.0, abs=1e-6)
    assert 'data-part="sepal"' in drawing
    assert f"sepal {IRIS_OK['sepal_length']} × {IRIS_OK['sepal_width']} cm" in drawing
    assert note == ""


def test_wine_prediction_shows_grade_score_glass_and_scale(app: Client) -> None:
    result, visuals, note = app.predict(*WINE_RED, api_name="/wine_predict")
    assert result.startswith("## Grade ") and "raw score" in result and "model version **v1**" in result
    grade = int(result.split()[2])
    assert 3 <= grade <= 9
    assert 'data-wine-type="red"' in visuals
    assert f'data-predicted="{grade}"' in visuals


def test_random_real_sample_fills_every_input_within_range(app: Client) -> None:
    *values, note = app.predict(api_name="/wine_random_sample")  # the State output is not in the API
    assert values[0] in ("red", "white")
    assert all(isinstance(v, float | int) and v >= 0 for v in values[1:])
    assert "real wine sample" in note


def test_out_of_range_input_gets_a_short_message_naming_the_field(app: Client) -> None:
    result, probabilities, drawing, note = app.predict(0.0, 3.5, 1.4, 0.2, api_name="/iris_predict")
    assert "Sepal length" in note and "greater than 0" in note
    assert "Traceback" not in note and result == "Prediction failed."


def test_constraint_between_fields_is_explained(app: Client) -> None:
    values = list(WINE_RED)
    values[6], values[7] = 50.0, 20.0  # free SO2 above total SO2
    _, _, note = app.predict(*values, api_name="/wine_predict")
    assert "Free sulfur dioxide" in note or "Total sulfur dioxide" in note
    assert "cannot exceed" in note or "exceed" in note


def test_predictor_down_says_so_instead_of_failing(app_without_predictor: Client) -> None:
    result, probabilities, drawing, note = app_without_predictor.predict(*IRIS_SETOSA, api_name="/iris_predict")
    assert "predictor service is not reachable" in note
    assert "Traceback" not in note
    *_, note = app_without_predictor.predict(api_name="/iris_random_sample")
    assert "not reachable" in note


def test_an_empty_number_box_is_named_instead_of_sent(app: Client) -> None:
    # An emptied number box reaches the handler as None: the predictor is not asked.
    result, probabilities, drawing, note = app.predict(5.1, None, 1.4, None, api_name="/iris_predict")
    assert "Please fill in Sepal width (cm), Petal width (cm)." in note
    assert "Prediction failed" not in result


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc"])
def test_a_value_that_is_not_a_number_is_named_instead_of_sent(bad: object) -> None:
    form = DatasetForm(local_spec(IRIS), from_service=False)
    body, problem = _collect(form, (5.1, bad, 1.4, 0.2))
    assert body is None
    assert problem == "Please enter a number for Sepal width (cm)."


def test_collect_sends_the_values_as_floats_and_the_choice_as_is() -> None:
    form = DatasetForm(local_spec(WINE), from_service=False)
    body, problem = _collect(form, WINE_RED)
    assert problem is None and body is not None
    assert body["wine_type"] == "red" and body["density"] == 0.9978


def test_a_tab_built_without_the_predictor_stays_disabled_while_it_is_down() -> None:
    form = DatasetForm(local_spec(IRIS), from_service=False)
    with gr.Blocks():
        _layout_inputs(form, per_row=2)
        form.buttons = [gr.Button("Random"), gr.Button("Predict")]
    assert all(not c.interactive for c in form.inputs)
    with PredictorClient(f"http://127.0.0.1:{free_port()}", timeout=2) as client:
        *updates, note = _late_form_updates(client, form)
    assert all("interactive" not in u and "value" not in u for u in updates)
    assert "predictor service is not reachable" in note and "Reload this page" in note

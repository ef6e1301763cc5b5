"""The Gradio app against a real predictor process, driven through ``gradio_client`` (its API)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gradio_client import Client

from frontends.gradio_app.app import build_app, launch_options
from tests.frontends.conftest import Stack
from tests.support.net import free_port

pytestmark = pytest.mark.processes

IRIS_SETOSA = (5.1, 3.5, 1.4, 0.2)
WINE_RED = ("red", 7.4, 0.7, 0.0, 1.9, 0.076, 11.0, 34.0, 0.9978, 3.51, 0.56, 9.4)


def _serve(predictor_url: str) -> Iterator[Client]:
    demo = build_app(predictor_url)
    port = free_port()
    demo.queue().launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        ssr_mode=False,
        quiet=True,
        **launch_options(),
    )
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
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
    assert 'data-part="sepal"' in drawing and "sepal 5.1 × 3.5 cm" in drawing
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

"""Form fields from the served spec, and service errors as short messages for people."""

from __future__ import annotations

import pytest

from dailyml.clients import ServiceError, ServiceUnavailable
from dailyml.contracts import FeatureOut
from dailyml.datasets import IRIS, WINE
from frontends.common import services
from frontends.common.forms import default_value, field_label, local_spec, range_text, step_for
from frontends.common.services import ClientMissing, error_message


def _feature(**kw: object) -> FeatureOut:
    base = dict(
        name="x",
        description="X",
        unit="g/L",
        kind="float",
        minimum=0.0,
        maximum=5.0,
        exclusive_minimum=False,
        categories=[],
        reference={},
    )
    return FeatureOut(**{**base, **kw})  # type: ignore[arg-type]


def test_local_spec_has_every_feature_of_the_core_spec_in_order() -> None:
    for core in (IRIS, WINE):
        spec = local_spec(core)
        assert [f.name for f in spec.features] == core.feature_names
        assert all(f.reference == {} for f in spec.features)


def test_labels_and_ranges_carry_units_and_the_data_span() -> None:
    feature = _feature(
        name="sepal_length",
        description="Sepal length",
        unit="cm",
        maximum=30.0,
        exclusive_minimum=True,
        reference={"median": 5.8, "min": 4.3, "max": 7.9},
    )
    assert field_label(feature) == "Sepal length (cm)"
    assert range_text(feature) == "valid > 0 to 30 · data 4.3–7.9"
    assert default_value(feature) == 5.8


@pytest.mark.parametrize(
    ("median", "minimum", "maximum", "step"),
    [(5.8, 0.0, 30.0, 0.01), (0.047, 0.0, 2.0, 0.0001), (118.0, 0.0, 1000.0, 1.0), (0.9949, 0.9, 1.2, 0.0001)],
)
def test_steps_suit_the_magnitude(median: float, minimum: float, maximum: float, step: float) -> None:
    feature = _feature(minimum=minimum, maximum=maximum, reference={"median": median, "min": 0, "max": 1})
    assert step_for(feature) == pytest.approx(step)


def test_categorical_default_is_the_most_common_value() -> None:
    feature = _feature(kind="category", categories=["red", "white"], unit="", reference={"mode": "white"})
    assert default_value(feature) == "white"
    assert default_value(_feature(kind="category", categories=["red", "white"])) == "red"


def test_validation_error_names_the_field_in_words() -> None:
    exc = ServiceError(
        422,
        "validation_error",
        "sepal_length: must be > 0",
        [
            {
                "field": "sepal_length",
                "loc": ["sepal_length"],
                "rule": "greater_than",
                "message": "Input should be greater than 0",
            }
        ],
    )
    message = error_message(exc, "predictor", "iris")
    assert message == "Please check the input: Sepal length must be greater than 0."


def test_unreachable_service_and_missing_client_read_plainly() -> None:
    down = error_message(ServiceUnavailable("http://127.0.0.1:9", "ConnectError"), "generator")
    assert down.startswith("The generator service is not reachable (http://127.0.0.1:9")
    assert "Traceback" not in down
    assert (
        error_message(ClientMissing("generator"), "generator") == "The generator is not available in this installation."
    )
    not_ready = error_message(ServiceError(503, "not_ready", "no model loaded"), "predictor")
    assert "not ready yet" in not_ready


def test_optional_clients_are_none_when_their_module_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = services.importlib.import_module

    def fake_import(name: str):  # type: ignore[no-untyped-def]
        if name == "dailyml.clients.generator":
            raise ModuleNotFoundError(name)
        return real_import(name)

    monkeypatch.setattr(services.importlib, "import_module", fake_import)
    assert services.generator_client("http://127.0.0.1:9") is None
    scheduler = services.scheduler_client("http://127.0.0.1:9")
    assert scheduler is not None and type(scheduler).__name__ == "SchedulerClient"

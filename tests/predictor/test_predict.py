"""Predictions: valid input answers with the champion; every class of bad input is a 422 naming the
field and the rule, and stores nothing."""

from __future__ import annotations

import json
import math

import pytest
from fastapi.testclient import TestClient

from dailyml.datasets import IRIS, WINE
from dailyml.featurestore import count_samples
from tests.predictor.conftest import flush
from tests.support.examples import IRIS_OK, WINE_OK


def test_iris_predict_returns_variety_probabilities_and_version(api: TestClient) -> None:
    r = api.post("/iris/predict", json=IRIS_OK)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["variety"] == "setosa"
    assert set(body["probabilities"]) == {"setosa", "versicolor", "virginica"}
    assert math.isclose(sum(body["probabilities"].values()), 1.0, abs_tol=1e-6)
    assert body["probabilities"]["setosa"] == max(body["probabilities"].values())
    assert body["model_version"] == 1 and body["prediction_id"]


def test_wine_predict_returns_the_rounded_grade_of_the_score(api: TestClient) -> None:
    body = api.post("/wine/predict", json=WINE_OK).json()
    assert body["quality"] == WINE.label_type(WINE.grade(body["score"]))
    assert 3 <= body["quality"] <= 9 and body["model_version"] == 1


def test_integers_are_accepted_for_measurements(api: TestClient) -> None:
    assert api.post("/iris/predict", json={k: 5 for k in IRIS_OK}).status_code == 200


BAD_IRIS = [
    ({k: v for k, v in IRIS_OK.items() if k != "petal_width"}, "petal_width", "missing"),
    (IRIS_OK | {"colour": "blue"}, "colour", "extra_forbidden"),
    (IRIS_OK | {"sepal_length": "5.1"}, "sepal_length", "float_type"),
    (IRIS_OK | {"sepal_length": None}, "sepal_length", "float_type"),
    (IRIS_OK | {"sepal_length": True}, "sepal_length", "float_type"),
    (IRIS_OK | {"petal_length": -0.5}, "petal_length", "greater_than"),
    (IRIS_OK | {"petal_length": 0}, "petal_length", "greater_than"),
    (IRIS_OK | {"sepal_width": 31}, "sepal_width", "less_than_equal"),
]


@pytest.mark.parametrize(("body", "field", "rule"), BAD_IRIS)
def test_bad_iris_input_is_a_422_naming_field_and_rule(api: TestClient, body: dict, field: str, rule: str) -> None:
    r = api.post("/iris/predict", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert {"field": field, "rule": rule} in [{"field": d["field"], "rule": d["rule"]} for d in detail], detail
    assert field in r.json()["message"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(api: TestClient, literal: str) -> None:
    raw = json.dumps(IRIS_OK | {"sepal_length": float(literal)})  # NaN, Infinity, -Infinity: JSON literals
    assert literal in raw
    r = api.post("/iris/predict", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "sepal_length"
    assert r.json()["detail"][0]["rule"] == "finite_number"


def test_unknown_wine_type_is_refused(api: TestClient) -> None:
    r = api.post("/wine/predict", json=WINE_OK | {"wine_type": "rose"})
    assert r.status_code == 422
    assert r.json()["detail"][0] | {"message": None} == {
        "field": "wine_type",
        "loc": ["wine_type"],
        "rule": "literal_error",
        "message": None,
    }


def test_ph_outside_the_ph_scale_is_refused(api: TestClient) -> None:
    r = api.post("/wine/predict", json=WINE_OK | {"ph": 14.5})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "ph"


def test_free_sulfur_above_total_is_refused_on_the_total_field(api: TestClient) -> None:
    r = api.post("/wine/predict", json=WINE_OK | {"free_sulfur_dioxide": 50.0, "total_sulfur_dioxide": 40.0})
    assert r.status_code == 422
    item = r.json()["detail"][0]
    assert item["field"] == "total_sulfur_dioxide" and item["rule"] == "constraint"
    assert "free_sulfur_dioxide" in item["message"]


def test_malformed_json_is_a_422_not_a_500(api: TestClient) -> None:
    r = api.post("/iris/predict", content="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "validation_error"


def test_unknown_dataset_is_a_404(api: TestClient) -> None:
    assert api.post("/beer/predict", json={}).status_code == 404


def test_bad_input_stores_nothing_and_good_input_is_logged(api: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    for body, _, _ in BAD_IRIS:
        api.post("/iris/predict", json=body)
    api.post("/iris/predict/batch", json={"instances": [IRIS_OK, IRIS_OK | {"petal_length": -1}]})
    flush(api)
    assert count_samples(db.engine, IRIS, "online") == 0
    api.post("/iris/predict", json=IRIS_OK)
    flush(api)
    assert count_samples(db.engine, IRIS, "online") == 1


def test_batch_answers_in_order(api: TestClient) -> None:
    setosa, virginica = IRIS_OK, {"sepal_length": 7.7, "sepal_width": 3.0, "petal_length": 6.1, "petal_width": 2.3}
    r = api.post("/iris/predict/batch", json={"instances": [setosa, virginica, setosa]})
    assert r.status_code == 200
    assert [p["variety"] for p in r.json()["predictions"]] == ["setosa", "virginica", "setosa"]
    assert len({p["prediction_id"] for p in r.json()["predictions"]}) == 3


@pytest.mark.parametrize(("dataset", "body"), [("iris", IRIS_OK), ("wine", WINE_OK)])
def test_answers_serialised_once_match_the_documented_response_models(
    api: TestClient, dataset: str, body: dict
) -> None:
    """The routes return JSON they serialised themselves (FastAPI does not validate it again):
    it must be exactly what the response models in the OpenAPI document describe."""
    from dailyml.contracts import batch_response_model, prediction_model

    one = api.post(f"/{dataset}/predict", json=body)
    assert one.headers["content-type"] == "application/json"
    model = prediction_model(dataset)
    assert model.model_validate_json(one.content).model_dump(mode="json") == one.json()
    batch = api.post(f"/{dataset}/predict/batch", json={"instances": [body, body]})
    validated = batch_response_model(dataset).model_validate_json(batch.content)
    assert validated.model_dump(mode="json") == batch.json() and len(batch.json()["predictions"]) == 2
    schema = api.get("/openapi.json").json()["paths"][f"/{dataset}/predict"]["post"]["responses"]["200"]
    assert schema["content"]["application/json"]["schema"]["$ref"].endswith(model.__name__)


def test_batch_error_names_the_instance(api: TestClient) -> None:
    r = api.post("/wine/predict/batch", json={"instances": [WINE_OK, WINE_OK | {"alcohol": 99}]})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "instances.1.alcohol"


@pytest.mark.parametrize("n", [0, 10_001])
def test_batch_size_is_bounded(api: TestClient, n: int) -> None:
    r = api.post("/iris/predict/batch", json={"instances": [IRIS_OK] * n})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "instances"


def test_largest_batch_is_answered(api: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    r = api.post("/iris/predict/batch", json={"instances": [IRIS_OK] * 10_000})
    assert r.status_code == 200 and len(r.json()["predictions"]) == 10_000
    flush(api)
    assert count_samples(db.engine, IRIS, "online") == 10_000

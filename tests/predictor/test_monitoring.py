"""History, true labels, confusion matrix and metrics over time, computed by the database."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dailyml.datasets import IRIS, WINE
from dailyml.db import transaction
from dailyml.featurestore import NewSample, insert_samples
from dailyml.ids import uuid7_at
from tests.predictor.conftest import flush
from tests.support.credentials import ADMIN_HEADERS
from tests.support.examples import IRIS_OK, WINE_OK

VIRGINICA = {"sepal_length": 7.7, "sepal_width": 3.0, "petal_length": 6.1, "petal_width": 2.3}


def test_empty_store_gives_a_full_zero_confusion_matrix(api: TestClient) -> None:
    for dataset, labels in (("iris", ["setosa", "versicolor", "virginica"]), ("wine", [3, 4, 5, 6, 7, 8, 9])):
        body = api.get(f"/{dataset}/confusion-matrix").json()
        assert body["labels"] == labels
        assert body["matrix"] == [[0] * len(labels) for _ in labels] and body["total"] == 0
    assert api.get("/iris/metrics").json()["points"] == []
    assert api.get("/iris/history").json() == {"total": 0, "limit": 50, "offset": 0, "items": []}


def test_history_is_newest_first_and_pages(api: TestClient) -> None:
    ids = [
        api.post("/iris/predict", json=IRIS_OK | {"sepal_length": 4.0 + i / 10}).json()["prediction_id"]
        for i in range(5)
    ]
    flush(api)
    page = api.get("/iris/history", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 5
    assert [i["id"] for i in page["items"]] == [ids[3], ids[2]]
    item = page["items"][0]
    assert item["features"]["sepal_length"] == 4.3 and item["source"] == "online" and item["model_version"] == 1
    assert item["actual"] is None and item["correct"] is None


def test_recording_actuals_feeds_the_confusion_matrix_and_metrics(api: TestClient) -> None:
    a = api.post("/iris/predict", json=IRIS_OK).json()  # predicted setosa
    b = api.post("/iris/predict", json=VIRGINICA).json()  # predicted virginica
    api.post("/iris/predict", json=IRIS_OK)  # never labelled: not counted
    flush(api)
    assert (
        api.post(
            f"/iris/predictions/{a['prediction_id']}/actual", json={"actual": "setosa"}, headers=ADMIN_HEADERS
        ).status_code
        == 200
    )
    assert (
        api.post(
            f"/iris/predictions/{b['prediction_id']}/actual", json={"actual": "versicolor"}, headers=ADMIN_HEADERS
        ).status_code
        == 200
    )
    cm = api.get("/iris/confusion-matrix").json()
    assert cm["matrix"] == [[1, 0, 0], [0, 0, 1], [0, 0, 0]] and cm["total"] == 2
    points = api.get("/iris/metrics", params={"bucket": "day"}).json()["points"]
    # One day's point (two, if the two predictions straddle midnight): 2 predictions, 1 correct.
    assert 1 <= len(points) <= 2 and sum(p["n"] for p in points) == 2
    assert sum(p["n"] * p["accuracy"] for p in points) == 1
    history = api.get("/iris/history").json()["items"]
    labelled = {i["id"]: i for i in history}
    assert labelled[a["prediction_id"]]["correct"] is True and labelled[b["prediction_id"]]["correct"] is False


def test_wine_metrics_report_mae_and_within_one(api: TestClient) -> None:
    p = api.post("/wine/predict", json=WINE_OK).json()
    flush(api)
    actual = p["quality"] + 1 if p["quality"] < 9 else p["quality"] - 1
    api.post(f"/wine/predictions/{p['prediction_id']}/actual", json={"actual": actual}, headers=ADMIN_HEADERS)
    point = api.get("/wine/metrics", params={"bucket": "hour"}).json()["points"][0]
    assert point["accuracy"] == 0.0 and point["within_one_accuracy"] == 1.0
    assert abs(point["mae"] - abs(p["score"] - actual)) < 1e-9
    cm = api.get("/wine/confusion-matrix").json()
    assert cm["matrix"][actual - 3][p["quality"] - 3] == 1


def test_actuals_need_the_admin_token_and_a_known_label(api: TestClient) -> None:
    p = api.post("/wine/predict", json=WINE_OK).json()
    flush(api)
    url = f"/wine/predictions/{p['prediction_id']}/actual"
    assert api.post(url, json={"actual": 5}).status_code == 401
    assert api.post(url, json={"actual": 5}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = api.post(url, json={"actual": 11}, headers=ADMIN_HEADERS)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "actual"
    assert api.post(url, json={"actual": 5}, headers=ADMIN_HEADERS).status_code == 200
    assert api.post(url, json={"actual": 5}, headers=ADMIN_HEADERS).status_code == 200  # same label again: fine
    assert api.post(url, json={"actual": 6}, headers=ADMIN_HEADERS).status_code == 409
    unknown = "/wine/predictions/00000000-0000-0000-0000-000000000000/actual"
    assert api.post(unknown, json={"actual": 5}, headers=ADMIN_HEADERS).status_code == 404


def test_pending_predicts_each_stored_sample_once_with_its_true_label(api: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    with db.engine.begin() as conn:
        insert_samples(
            conn, IRIS, [NewSample(IRIS_OK, label="setosa"), NewSample(VIRGINICA, label="virginica")], "synthetic"
        )
    assert api.post("/iris/predict/pending").status_code == 401
    first = api.post("/iris/predict/pending", headers=ADMIN_HEADERS).json()
    assert first["predicted"] == 2 and first["model_version"] == 1
    assert api.post("/iris/predict/pending", headers=ADMIN_HEADERS).json()["predicted"] == 0
    cm = api.get("/iris/confusion-matrix", params={"source": "synthetic"}).json()
    assert cm["total"] == 2 and cm["matrix"][0][0] == 1 and cm["matrix"][2][2] == 1
    items = api.get("/iris/history", params={"source": "synthetic"}).json()["items"]
    assert {i["actual"] for i in items} == {"setosa", "virginica"} and all(i["correct"] for i in items)


def test_spec_and_random_sample_come_from_the_reference_rows(api: TestClient) -> None:
    spec = api.get("/wine/spec").json()
    ph = next(f for f in spec["features"] if f["name"] == "ph")
    assert ph["minimum"] == 0 and ph["maximum"] == 14 and 3.0 < ph["reference"]["median"] < 3.5
    assert spec["labels"] == list(range(3, 10))
    sample = api.get("/wine/samples/random").json()
    assert set(sample["features"]) == set(WINE.feature_names) and 3 <= sample["quality"] <= 9
    assert api.get("/iris/samples/random", params={"source": "synthetic"}).status_code == 404
    assert set(api.get("/iris/samples/random").json()["features"]) == set(IRIS.feature_names)


def test_random_online_samples_are_drawn_from_all_of_them(api: TestClient) -> None:
    # Online samples have time-ordered ids (dailyml.ids): the draw spans the smallest to the
    # largest id of the source, not the whole UUID space (where it would always find the oldest).
    assert api.get("/iris/samples/random", params={"source": "online"}).status_code == 404
    rows = [
        NewSample({**IRIS_OK, "sepal_length": 4.5 + i / 10}, id=uuid7_at(1_700_000_000_000 + i * 1000))
        for i in range(6)
    ]
    with transaction(api.app_state.engine) as session:  # type: ignore[attr-defined]
        insert_samples(session.connection(), IRIS, rows, "online")
    drawn = [
        api.get("/iris/samples/random", params={"source": "online"}).json()["features"]["sepal_length"]
        for _ in range(120)
    ]
    assert set(drawn) == {r.features["sepal_length"] for r in rows}  # each about 1/6: all six, surely

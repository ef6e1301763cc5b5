"""An in-process predictor (its real lifespan, a real database) for fast API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.predictor.app import create_app
from tests.conftest import ADMIN_TOKEN

IRIS_OK = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
WINE_OK = {
    "wine_type": "red",
    "fixed_acidity": 7.4,
    "volatile_acidity": 0.7,
    "citric_acid": 0.0,
    "residual_sugar": 1.9,
    "chlorides": 0.076,
    "free_sulfur_dioxide": 11.0,
    "total_sulfur_dioxide": 34.0,
    "density": 0.9978,
    "ph": 3.51,
    "sulphates": 0.56,
    "alcohol": 9.4,
}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def api(db) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(db.settings())
    with TestClient(app) as client:
        client.app_state = app.state  # type: ignore[attr-defined]
        yield client


def flush(client: TestClient) -> None:
    """Write the queued prediction log now (it is otherwise written every few ms).

    ``flush`` holds the writer's lock: when it returns, nothing queued before it is in flight.
    """
    client.app_state.prediction_log.flush()  # type: ignore[attr-defined]

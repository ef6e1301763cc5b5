"""An in-process predictor (its real lifespan, a real database) for fast API tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.predictor.app import create_app


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

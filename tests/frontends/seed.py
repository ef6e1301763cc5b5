"""Put monitoring data in a store the way production does: over the predictor's HTTP API.

Online predictions of real reference rows, then their true labels (``POST .../actual``, admin);
synthetic samples are written to the feature store (as the generator would) and predicted
through ``POST /{d}/predict/pending``.
"""

from __future__ import annotations

import random
import time
from typing import Any

from sqlalchemy.engine import Engine

from dailyml.clients import PredictorClient, ServiceError
from dailyml.datasets import get_spec
from dailyml.featurestore import NewSample, insert_samples, training_frame


def _record_actual(client: PredictorClient, dataset: str, prediction_id: str, actual: Any) -> None:
    # The predictor writes its log in small batches: the prediction may need a moment to land.
    deadline = time.monotonic() + 10
    while True:
        try:
            client.record_actual(dataset, prediction_id, actual)
            return
        except ServiceError as exc:
            if exc.status != 404 or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def online_predictions(client: PredictorClient, dataset: str, n: int, *, label_every: int = 1) -> list[dict[str, Any]]:
    """Predict ``n`` random reference rows; record the true label of every ``label_every``-th."""
    spec = get_spec(dataset)
    answers = []
    for i in range(n):
        row = client.random_sample(dataset, source="reference")
        answer = client.predict(dataset, row["features"])
        if i % label_every == 0:
            _record_actual(client, dataset, answer["prediction_id"], row[spec.target])
        answers.append(answer)
    return answers


def synthetic_samples(engine: Engine, client: PredictorClient, dataset: str, n: int, seed: int = 7) -> int:
    """Store ``n`` labelled synthetic samples (perturbed reference rows) and have them predicted."""
    spec = get_spec(dataset)
    frame = training_frame(engine, spec, ("reference",))
    rng = random.Random(seed)
    rows = []
    for record in frame.sample(n=n, random_state=seed).to_dict("records"):
        features = {}
        for f in spec.features:
            value = record[f.name]
            if not f.is_categorical:
                value = float(value) * rng.uniform(0.97, 1.03)
                if f.maximum is not None:
                    value = min(value, f.maximum)
            features[f.name] = value
        if spec.validate_row(features):
            continue
        rows.append(NewSample(features=features, label=str(record["label"])))
    with engine.begin() as conn:
        insert_samples(conn, spec, rows, "synthetic")
    return client.predict_pending(dataset).predicted

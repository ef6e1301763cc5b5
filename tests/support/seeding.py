"""Put monitoring data in a store the way production does: over the predictor's HTTP API.

Online predictions of real reference rows, then their true labels (``POST .../actual``, admin);
synthetic samples are written to the feature store (as the generator would) and predicted
through ``POST /{d}/predict/pending``.
"""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dailyml.clients import PredictorClient, ServiceError
from dailyml.datasets import get_spec
from dailyml.db import transaction
from dailyml.featurestore import (
    NewPrediction,
    NewSample,
    insert_predictions,
    insert_samples,
    training_frame,
    versions_t,
)
from tests.support import clock
from tests.support.waiting import wait_until


def _record_actual(client: PredictorClient, dataset: str, prediction_id: str, actual: Any) -> None:
    # The predictor writes its log in small batches: the prediction may need a moment to land.
    def recorded() -> bool:
        try:
            client.record_actual(dataset, prediction_id, actual)
        except ServiceError as exc:
            if exc.status != 404:
                raise
            return False
        return True

    wait_until(recorded, 20, f"prediction {prediction_id} to be stored (its actual label answered 404)", interval=0.05)


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


def past_predictions(engine: Engine, client: PredictorClient, dataset: str, days: int, per_day: int) -> int:
    """Labelled predictions spread over the last ``days`` days, so charts over time have a history.

    The champion predicts real reference rows over HTTP (``/predict/batch``); the answers are then
    stored as if they had been made on past days (the API always stamps the present).
    """
    spec = get_spec(dataset)
    frame = training_frame(engine, spec, ("reference",))
    frame = frame[frame["split"] == "test"]  # rows the model never saw, so the accuracy is honest
    rows = frame.sample(n=days * per_day, replace=True, random_state=11).to_dict("records")
    features = [{f: r[f] for f in spec.feature_names} for r in rows]
    answers = client.predict_batch(dataset, features)["predictions"]  # also logged, as today's
    with engine.connect() as conn:
        version_id = conn.execute(
            sa.select(versions_t.c.id).where(
                versions_t.c.dataset == dataset,
                versions_t.c.kind == "model",
                versions_t.c.version == answers[0]["model_version"],
            )
        ).scalar_one()
    now = clock.now()
    samples, predictions = [], []
    for i, (row, feats, answer) in enumerate(zip(rows, features, answers, strict=True)):
        when = now - timedelta(days=days - i // per_day, minutes=i % per_day)
        sample_id = uuid.uuid4()
        samples.append(NewSample(features=feats, label=str(row["label"]), event_time=when, id=sample_id))
        predictions.append(
            NewPrediction(
                sample_id=sample_id,
                model_version_id=version_id,
                predicted_label=str(answer[spec.target]),
                score=answer.get("score"),
                probabilities=answer.get("probabilities"),
                actual_label=str(row["label"]),
                created_at=when,
            )
        )
    with transaction(engine) as session:
        conn = session.connection()
        insert_samples(conn, spec, samples, "online")
        insert_predictions(conn, spec, predictions)
    return len(predictions)


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
    with transaction(engine) as session:
        insert_samples(session.connection(), spec, rows, "synthetic")
    return client.predict_pending(dataset).predicted

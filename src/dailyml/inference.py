"""Turning validated rows into predictions with a loaded model: one code path for every caller.

The predictor's two use cases live here and its routes only call them: :func:`predict_and_record`
(online: the answers and the records to log) and :func:`predict_pending` (the daily loop: every
stored sample without a prediction, predicted and written). One online prediction crosses four
project modules, never coming back: the route (``services/predictor/routes/predict.py``) →
this module (with the compiled model of ``compiled.py``) → the prediction log
(``services/predictor/prediction_log.py``) → the feature store (``featurestore.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from dailyml import clock
from dailyml.compiled import CompiledModel, compile_model
from dailyml.contracts import PendingResult, prediction_body
from dailyml.datasets import DatasetSpec
from dailyml.featurestore import NewPrediction, NewSample, PredictionRecord, insert_predictions, pending_samples


@dataclass(frozen=True)
class LoadedModel:
    """A champion in memory: the estimator, its compiled form when it has one, and the registry
    identity of what it is."""

    dataset: str
    version_id: int
    version: int
    algorithm: str
    estimator: Any
    compiled: CompiledModel | None = field(default=None, compare=False)

    @classmethod
    def load(cls, dataset: str, version_id: int, version: int, algorithm: str, estimator: Any) -> LoadedModel:
        """The loaded model of a fitted ``estimator``, compiled when it can be."""
        return cls(dataset, version_id, version, algorithm, estimator, compile_model(estimator))


@dataclass(frozen=True)
class Answer:
    """One prediction: the stored label, and the raw score or probabilities behind it."""

    label: str
    score: float | None = None
    probabilities: dict[str, float] | None = None


def _raw(spec: DatasetSpec, model: LoadedModel, rows: Sequence[dict[str, Any]]) -> tuple[np.ndarray, list[str]]:
    if model.compiled is not None:
        return model.compiled.predict(rows), list(model.compiled.classes or ())
    frame = pd.DataFrame.from_records(rows, columns=spec.feature_names)
    est = model.estimator
    if spec.task == "classification":
        return est.predict_proba(frame), [str(c) for c in est.classes_]
    return np.asarray(est.predict(frame), dtype=float), []


def predict_rows(spec: DatasetSpec, model: LoadedModel, rows: Sequence[dict[str, Any]]) -> list[Answer]:
    """Predict ``rows`` (dicts keyed by feature name, already validated) in one call to the model."""
    raw, classes = _raw(spec, model, rows)
    if spec.task == "classification":
        answers = []
        for p in raw:
            probs = {label: 0.0 for label in spec.labels}
            probs.update({c: float(v) for c, v in zip(classes, p, strict=True)})
            answers.append(Answer(label=classes[int(np.argmax(p))], probabilities=probs))
        return answers
    return [Answer(label=spec.grade(s), score=float(s)) for s in raw]


@dataclass(frozen=True)
class Recorded:
    """Online predictions: the API's answers, in order, and the records to store for them."""

    bodies: list[dict[str, Any]]
    records: list[PredictionRecord]
    labels: list[str]


def predict_and_record(spec: DatasetSpec, model: LoadedModel, rows: Sequence[dict[str, Any]]) -> Recorded:
    """Predict validated ``rows`` and make, for each, its answer and the sample and prediction to
    store under new ids (stamped now, not when written: history keeps the order of the requests)."""
    answers = predict_rows(spec, model, rows)
    now = clock.now()
    bodies, records = [], []
    for row, answer in zip(rows, answers, strict=True):
        sample_id, prediction_id = uuid.uuid4(), uuid.uuid4()
        records.append(
            PredictionRecord(
                spec.name,
                NewSample(features=row, id=sample_id, event_time=now),
                NewPrediction(
                    sample_id=sample_id,
                    model_version_id=model.version_id,
                    predicted_label=answer.label,
                    score=answer.score,
                    probabilities=answer.probabilities,
                    id=prediction_id,
                    created_at=now,
                ),
            )
        )
        bodies.append(
            prediction_body(
                spec,
                answer.label,
                model_version=model.version,
                prediction_id=prediction_id,
                score=answer.score,
                probabilities=answer.probabilities,
            )
        )
    return Recorded(bodies, records, [a.label for a in answers])


def predict_pending(
    engine: Engine, spec: DatasetSpec, model: LoadedModel, limit: int
) -> tuple[PendingResult, list[str]]:
    """Predict up to ``limit`` stored samples that have no prediction yet (oldest first) and write
    the predictions, with each sample's known label, in one transaction; also the labels predicted."""
    pending = pending_samples(engine, spec, limit)
    if not pending:
        return PendingResult(dataset=spec.name, predicted=0, model_version=model.version), []
    answers = predict_rows(spec, model, [p.features for p in pending])
    with engine.begin() as conn:
        insert_predictions(
            conn,
            spec,
            [
                NewPrediction(
                    sample_id=p.id,
                    model_version_id=model.version_id,
                    predicted_label=a.label,
                    score=a.score,
                    probabilities=a.probabilities,
                    actual_label=p.label,
                )
                for p, a in zip(pending, answers, strict=True)
            ],
        )
    return PendingResult(dataset=spec.name, predicted=len(pending), model_version=model.version), [
        a.label for a in answers
    ]

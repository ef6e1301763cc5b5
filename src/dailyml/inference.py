"""Turning validated rows into predictions with a loaded model: one code path for every caller.

The predictor's use cases live here and its routes only call them: :func:`predict_and_record`
(online, one row or a batch: the answers, once the prediction sink has taken their records) and
:func:`predict_pending` (the daily loop: every stored sample without a prediction, predicted and
written). One online prediction crosses four project modules, never coming back: the route
(``services/predictor/routes/predict.py``) → this module → the prediction log
(``prediction_log.py``, the sink) → the feature store (``featurestore.py``); the compiled model
(``compiled.py``), the response contract (``contracts.py``) and the metrics are leaves it calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from dailyml import clock
from dailyml.compiled import CompiledModel, compile_model
from dailyml.contracts import PendingResult, prediction_body
from dailyml.datasets import DatasetSpec
from dailyml.db import transaction
from dailyml.featurestore import NewPrediction, NewSample, PredictionRecord, insert_predictions, pending_samples
from dailyml.ids import uuid7_at
from dailyml.observability.metrics import record_predictions


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
        unseen = dict.fromkeys(spec.labels, 0.0)  # labels the model never saw: probability 0
        answers = []
        for p in raw.tolist():
            probs = unseen.copy()
            probs.update(zip(classes, p, strict=True))
            best = max(range(len(p)), key=p.__getitem__)  # the first of equal maxima, as np.argmax
            answers.append(Answer(label=classes[best], probabilities=probs))
        return answers
    return [Answer(label=spec.grade(s), score=s) for s in raw.tolist()]


class PredictionSink(Protocol):
    """Where online predictions are stored (the predictor's :class:`~dailyml.prediction_log.PredictionLog`)."""

    def submit(self, entries: list[PredictionRecord]) -> None:
        """Take ``entries`` to store (all or none), or raise: then none of them is answered."""


def predict_and_record(
    spec: DatasetSpec, model: LoadedModel, rows: Sequence[dict[str, Any]], sink: PredictionSink
) -> list[dict[str, Any]]:
    """Predict validated ``rows``, hand ``sink`` each one's sample and prediction under new ids
    (stamped now, not when written: history keeps the order of the requests), and return the
    API's answers in order; nothing is answered (or counted) if ``sink`` refuses them."""
    answers = predict_rows(spec, model, rows)
    now = clock.now()
    now_ms = int(now.timestamp() * 1000)
    bodies, records = [], []
    for row, answer in zip(rows, answers, strict=True):
        # Time-ordered: a batch of them appends to the ends of the store's indexes (dailyml.ids).
        sample_id, prediction_id = uuid7_at(now_ms), uuid7_at(now_ms)
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
    sink.submit(records)
    record_predictions(spec.name, model.version, [a.label for a in answers], "online")
    return bodies


def predict_pending(engine: Engine, spec: DatasetSpec, model: LoadedModel, limit: int) -> PendingResult:
    """Predict up to ``limit`` stored samples that have no prediction yet (oldest first) and write
    the predictions, with each sample's known label, in one transaction."""
    pending = pending_samples(engine, spec, limit)
    answers = predict_rows(spec, model, [p.features for p in pending]) if pending else []
    predictions = [
        NewPrediction(
            sample_id=p.id,
            model_version_id=model.version_id,
            predicted_label=a.label,
            score=a.score,
            probabilities=a.probabilities,
            actual_label=p.label,
        )
        for p, a in zip(pending, answers, strict=True)
    ]
    if predictions:
        with transaction(engine) as session:
            insert_predictions(session.connection(), spec, predictions)
    record_predictions(spec.name, model.version, [a.label for a in answers], "pending")
    return PendingResult(dataset=spec.name, predicted=len(pending), model_version=model.version)

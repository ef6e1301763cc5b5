"""Turning validated rows into predictions with a loaded model: one code path for every caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dailyml.compiled import CompiledModel, compile_model
from dailyml.datasets import DatasetSpec


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

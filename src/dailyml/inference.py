"""Turning validated rows into predictions with a loaded model: one code path for every caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dailyml.datasets import DatasetSpec


@dataclass(frozen=True)
class LoadedModel:
    """A champion in memory: the estimator and the registry identity of what it is."""

    dataset: str
    version_id: int
    version: int
    algorithm: str
    estimator: Any


@dataclass(frozen=True)
class Answer:
    """One prediction: the stored label, and the raw score or probabilities behind it."""

    label: str
    score: float | None = None
    probabilities: dict[str, float] | None = None


def predict_rows(spec: DatasetSpec, model: LoadedModel, rows: Sequence[dict[str, Any]]) -> list[Answer]:
    """Predict ``rows`` (dicts keyed by feature name, already validated) in one call to the model."""
    frame = pd.DataFrame.from_records(rows, columns=spec.feature_names)
    est = model.estimator
    if spec.task == "classification":
        proba = est.predict_proba(frame)
        classes = [str(c) for c in est.classes_]
        answers = []
        for p in proba:
            probs = {label: 0.0 for label in spec.labels}
            probs.update({c: float(v) for c, v in zip(classes, p, strict=True)})
            answers.append(Answer(label=classes[int(np.argmax(p))], probabilities=probs))
        return answers
    scores = np.asarray(est.predict(frame), dtype=float)
    return [Answer(label=spec.grade(s), score=float(s)) for s in scores]

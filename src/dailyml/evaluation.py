"""Metrics, computed the same way in training, in the retraining gate and in reports.

Wine is scored as users see it: the rounded, clipped grade (exact and within-one accuracy)
next to MSE/MAE of the raw score, overall and per colour.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
)

from dailyml.datasets import DatasetSpec


def grades(spec: DatasetSpec, scores: np.ndarray) -> np.ndarray:
    """Raw regression scores as the integer grades users see (rounded, clipped to the spec)."""
    values = [int(x) for x in spec.labels]
    return cast(np.ndarray, np.clip(np.rint(scores), min(values), max(values)).astype(int))


def classification_metrics(spec: DatasetSpec, y_true: pd.Series, y_pred: np.ndarray) -> dict[str, Any]:
    """Accuracy, macro-F1 and the confusion matrix (rows actual, columns predicted, all labels)."""
    labels = list(spec.labels)
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "confusion_matrix": {
            "labels": labels,
            "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        },
    }


def _regression_core(spec: DatasetSpec, y_true: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    graded = grades(spec, scores)
    return {
        "n": int(len(y_true)),
        "mse": float(mean_squared_error(y_true, scores)),
        "mae": float(mean_absolute_error(y_true, scores)),
        "exact_accuracy": float(np.mean(graded == y_true)),
        "within_one_accuracy": float(np.mean(np.abs(graded - y_true) <= 1)),
    }


def regression_metrics(
    spec: DatasetSpec, y_true: pd.Series, scores: np.ndarray, groups: pd.Series | None = None
) -> dict[str, Any]:
    """MSE, MAE, exact-grade and within-one accuracy, and the same per group (wine colour)."""
    truth = y_true.astype(int).to_numpy()
    result = _regression_core(spec, truth, scores)
    if groups is not None:
        result["by_group"] = {
            str(g): _regression_core(spec, truth[mask], scores[mask])
            for g in sorted(groups.unique())
            for mask in [(groups == g).to_numpy()]
        }
    return result


def evaluate(spec: DatasetSpec, estimator: Any, frame: pd.DataFrame) -> dict[str, Any]:
    """All metrics of a fitted estimator on ``frame`` (features + ``label``)."""
    X = frame[spec.feature_names]
    if spec.task == "classification":
        return classification_metrics(spec, frame["label"], estimator.predict(X))
    groups = frame[spec.group_feature] if spec.group_feature else None
    return regression_metrics(spec, frame["label"], np.asarray(estimator.predict(X), dtype=float), groups)

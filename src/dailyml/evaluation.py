"""Metrics (the models of :mod:`dailyml.scores`), computed the same way in training, in the
retraining gate and in reports.

Wine is scored as users see it: the rounded, clipped grade (exact and within-one accuracy)
next to MSE/MAE of the raw score, overall and per colour.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

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
from dailyml.reports import Report
from dailyml.scores import ClassificationMetrics, LabelCounts, Metrics, RegressionMetrics


def grades(spec: DatasetSpec, scores: np.ndarray) -> np.ndarray:
    """Raw regression scores as the integer grades users see (rounded, clipped to the spec)."""
    values = [int(x) for x in spec.labels]
    return cast(np.ndarray, np.clip(np.rint(scores), min(values), max(values)).astype(int))


def classification_metrics(spec: DatasetSpec, y_true: pd.Series, y_pred: np.ndarray) -> ClassificationMetrics:
    """Accuracy, macro-F1 and the confusion matrix (rows actual, columns predicted, all labels)."""
    labels = list(spec.labels)
    return ClassificationMetrics(
        n=int(len(y_true)),
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        confusion_matrix=LabelCounts(labels=labels, matrix=confusion_matrix(y_true, y_pred, labels=labels).tolist()),
    )


def _regression_core(spec: DatasetSpec, y_true: np.ndarray, scores: np.ndarray) -> RegressionMetrics:
    graded = grades(spec, scores)
    return RegressionMetrics(
        n=int(len(y_true)),
        mse=float(mean_squared_error(y_true, scores)),
        mae=float(mean_absolute_error(y_true, scores)),
        exact_accuracy=float(np.mean(graded == y_true)),
        within_one_accuracy=float(np.mean(np.abs(graded - y_true) <= 1)),
    )


def regression_metrics(
    spec: DatasetSpec, y_true: pd.Series, scores: np.ndarray, groups: pd.Series | None = None
) -> RegressionMetrics:
    """MSE, MAE, exact-grade and within-one accuracy, and the same per group (wine colour)."""
    truth = y_true.astype(int).to_numpy()
    result = _regression_core(spec, truth, scores)
    if groups is not None:
        result.by_group = {
            str(g): _regression_core(spec, truth[mask], scores[mask])
            for g in sorted(groups.unique())
            for mask in [(groups == g).to_numpy()]
        }
    return result


def evaluate(spec: DatasetSpec, estimator: Any, frame: pd.DataFrame) -> Metrics:
    """All metrics of a fitted estimator on ``frame`` (features + ``label``)."""
    X = frame[spec.feature_names]
    if spec.task == "classification":
        return classification_metrics(spec, frame["label"], estimator.predict(X))
    groups = frame[spec.group_feature] if spec.group_feature else None
    return regression_metrics(spec, frame["label"], np.asarray(estimator.predict(X), dtype=float), groups)


class FoldMeans(Report):
    """Mean and standard deviation of every figure over cross-validation folds (and the means
    per group), written flat in JSON: a subclass's fields, then ``mse``, ``mse_std``, ..., ``by_group``."""

    means: dict[str, float]
    stds: dict[str, float]
    by_group: dict[str, dict[str, float]] | None = None

    def fold_means(self) -> FoldMeans:
        """The figures alone, without a subclass's other fields."""
        return FoldMeans(means=self.means, stds=self.stds, by_group=self.by_group)

    def mean(self, name: str) -> float:
        """The mean over the folds of the figure ``name``."""
        return self.means[name]

    omitted_when_none: ClassVar[tuple[str, ...]] = ("by_group",)

    def shaped(self, data: dict[str, Any]) -> dict[str, Any]:
        """The figures flat after the other fields: ``mse``, ``mse_std``, ..., ``by_group``."""
        means, stds, by_group = data.pop("means"), data.pop("stds"), data.pop("by_group")
        flat = {**data, **means, **{f"{k}_std": v for k, v in stds.items()}, "by_group": by_group}
        return super().shaped(flat)


def fold_means(per_fold: list[Metrics], extra: dict[str, list[float]] | None = None) -> FoldMeans:
    """Mean and standard deviation over the folds of every figure of ``per_fold``, then of the
    ``extra`` figures (one value per fold); the means per group where the folds are grouped."""
    columns: dict[str, list[float]] = {}
    for metrics in per_fold:
        for name, value in metrics.figures().items():
            columns.setdefault(name, []).append(value)
    columns.update(extra or {})
    grouped = [m.by_group for m in per_fold if isinstance(m, RegressionMetrics) and m.by_group is not None]
    by_group: dict[str, dict[str, float]] | None = None
    if grouped:
        by_group = {}
        for g in sorted({g for groups in grouped for g in groups}):
            parts = [groups[g] for groups in grouped if g in groups]
            by_group[g] = {k: float(np.mean([p.figure(k) for p in parts])) for k in parts[0].figures()}
    return FoldMeans(
        means={k: float(np.mean(v)) for k, v in columns.items()},
        stds={k: float(np.std(v)) for k, v in columns.items()},
        by_group=by_group,
    )

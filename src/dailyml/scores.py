"""What a model scored on some rows: the metric models of classification and regression.

Pydantic only, so that the contracts (the training outcome the scheduler's gate reads) can carry
them without loading scikit-learn; :mod:`dailyml.evaluation` computes them.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from dailyml.reports import Report


class LabelCounts(BaseModel):
    """A confusion matrix over every label of the spec."""

    labels: list[str]
    matrix: list[list[int]]


class _Figures(Report):
    def figures(self) -> dict[str, float]:
        """Every real-valued figure by name (what cross-validation averages over the folds)."""
        return {k: v for k, v in self.model_dump().items() if isinstance(v, float)}

    def figure(self, name: str) -> float:
        """The figure ``name`` (e.g. the spec's primary metric)."""
        return self.figures()[name]


class ClassificationMetrics(_Figures):
    """Accuracy, macro-F1 and the confusion matrix of a classifier on ``n`` rows."""

    n: int
    accuracy: float
    macro_f1: float
    confusion_matrix: LabelCounts


class RegressionMetrics(_Figures):
    """MSE/MAE of the raw score and accuracy of the grade on ``n`` rows, per group when grouped."""

    n: int
    mse: float
    mae: float
    exact_accuracy: float
    within_one_accuracy: float
    by_group: dict[str, RegressionMetrics] | None = None
    omitted_when_none: ClassVar[tuple[str, ...]] = ("by_group",)


Metrics = ClassificationMetrics | RegressionMetrics

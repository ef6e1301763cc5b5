"""The nested search's plumbing (the inner search only ever sees the outer training part) and the
extra wine families (per-colour routing, the cumulative ordinal model's shape and monotonicity),
on a few hundred rows: seconds, not the measured figures (those: docs/models.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LogisticRegression

from dailyml.assessment import Protocol, evaluation_rows, nested_search, outer_folds
from dailyml.datasets import WINE
from dailyml.pipelines import Candidate, CumulativeOrdinal, PerGroup, build_pipeline
from dailyml.settings import PROJECT_ROOT

SEEN: list[tuple[str, frozenset[int]]] = []


class Recording(BaseEstimator, RegressorMixin):  # type: ignore[misc]
    """Predicts ``offset`` + the training mean, and records which rows it is fitted on and asked about."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def fit(self, X: pd.DataFrame, y: Any) -> Recording:
        SEEN.append(("fit", frozenset(X.index)))
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X: pd.DataFrame) -> Any:
        SEEN.append(("predict", frozenset(X.index)))
        return np.full(len(X), self.mean_ + self.offset)


def _recording(offset: float) -> Callable[[int], Recording]:
    return lambda seed: Recording(offset)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    data = evaluation_rows(WINE, WINE.load_reference(PROJECT_ROOT / "data"))
    data = data[data["label"].astype(int).between(5, 7)]
    return data.sample(240, random_state=0).reset_index(drop=True)


def test_the_inner_search_only_sees_each_outer_training_part(rows: pd.DataFrame) -> None:
    folds = outer_folds(WINE, rows, Protocol(3, 1))
    space = [Candidate(f"offset {d}", _recording(d), {"offset": d}) for d in (0.0, 0.3, -0.3)]
    logged: list[tuple[str, np.ndarray]] = []
    SEEN.clear()
    report = nested_search(WINE, rows, folds, space, inner_splits=3, fit_log=lambda s, p: logged.append((s, p)))

    per_outer = len(space) * 3 * 2 + 2  # inner fit + predict for each config and inner fold, then refit + score
    assert len(SEEN) == len(folds) * per_outer
    for o, (train, test) in enumerate(folds):
        train_set, test_set = frozenset(train.tolist()), frozenset(test.tolist())
        calls = SEEN[o * per_outer : (o + 1) * per_outer]
        inner, (refit, score) = calls[:-2], calls[-2:]
        for _, seen in inner:
            assert seen <= train_set and not seen & test_set
        assert refit == ("fit", train_set) and score == ("predict", test_set)
        # the inner folds partition the outer training part
        inner_fits = [seen for kind, seen in inner[: 3 * 2] if kind == "fit"]
        inner_tests = [seen for kind, seen in inner[: 3 * 2] if kind == "predict"]
        assert frozenset().union(*inner_tests) == train_set
        assert all(f | t == train_set and not f & t for f, t in zip(inner_fits, inner_tests, strict=True))
    assert [stage for stage, _ in logged].count("outer") == len(folds)
    # the unbiased constant wins every inner search
    assert {w.name for w in report.winners} == {"offset 0.0"}
    assert len(report.winners) == len(folds) and {"mse", "exact_accuracy", "by_group"} <= set(report.model_dump())


def test_the_cumulative_ordinal_model_is_monotone_and_predicts_within_the_grades(rows: pd.DataFrame) -> None:
    X, y = rows[WINE.feature_names], rows["label"].astype(int)
    model = CumulativeOrdinal(build_pipeline(WINE, LogisticRegression(max_iter=2000), scale=True)).fit(X, y)
    assert list(model.grades_) == [5, 6, 7] and len(model.models_) == 2
    p = model.exceedance(X)
    assert p.shape == (len(X), 2) and np.all((p >= 0) & (p <= 1))
    assert np.all(np.diff(p, axis=1) <= 0)
    score = model.predict(X)
    assert score.shape == (len(X),) and np.all((score >= 5) & (score <= 7))
    np.testing.assert_allclose(score, 5 + p.sum(axis=1))
    grade = model.predict_grade(X)
    assert set(np.unique(grade)) <= {5, 6, 7} and np.all(np.abs(grade - score) <= 1)
    # a better-than-nothing model: scores rank the grades
    assert np.corrcoef(score, y)[0, 1] > 0.3


def test_per_colour_models_route_each_row_to_its_colour(rows: pd.DataFrame) -> None:
    X, y = rows[WINE.feature_names], rows["label"].astype(float)
    model = PerGroup("wine_type", Recording()).fit(X, y)
    assert set(model.models_) == {"red", "white"}
    prediction = model.predict(X)
    for colour in ("red", "white"):
        mask = (X["wine_type"] == colour).to_numpy()
        assert np.allclose(prediction[mask], y[mask].mean())

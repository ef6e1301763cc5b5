"""The candidate scikit-learn pipelines, built from a spec (never from positional feature lists)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from dailyml.datasets import DatasetSpec


@dataclass(frozen=True)
class Candidate:
    """A model family to try: a name, how to build the estimator, and its role in the report."""

    name: str
    build: Callable[[int], Any]
    params: dict[str, Any] = field(default_factory=dict)
    baseline: bool = False  # a reference point (majority class, the mean), never chosen
    lab: bool = False  # what the original lab shipped: the model to beat


def _preprocessor(spec: DatasetSpec, scale: bool) -> ColumnTransformer:
    numeric = [f.name for f in spec.numeric_features]
    parts: list[tuple[str, Any, list[str]]] = [("num", StandardScaler() if scale else "passthrough", numeric)]
    if spec.categorical_features:
        parts.append(
            (
                "cat",
                OneHotEncoder(categories=[list(f.categories) for f in spec.categorical_features], drop="if_binary"),
                [f.name for f in spec.categorical_features],
            )
        )
    return ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)


def build_pipeline(spec: DatasetSpec, estimator: Any, *, scale: bool = False) -> Pipeline:
    """Named-column preprocessing followed by ``estimator``."""
    return Pipeline([("prep", _preprocessor(spec, scale)), ("model", estimator)])


def candidates(spec: DatasetSpec, profile: str = "full") -> list[Candidate]:
    """The models tried for ``spec``. ``fast`` keeps the same families with smaller settings."""
    fast = profile == "fast"
    if spec.task == "classification":
        return [
            Candidate(
                "majority_class",
                lambda s: build_pipeline(spec, DummyClassifier(strategy="most_frequent")),
                {"strategy": "most_frequent"},
                baseline=True,
            ),
            Candidate(
                "knn_k2",
                lambda s: build_pipeline(spec, KNeighborsClassifier(n_neighbors=2)),
                {"n_neighbors": 2},
                lab=True,
            ),
            Candidate(
                "knn_k5", lambda s: build_pipeline(spec, KNeighborsClassifier(n_neighbors=5)), {"n_neighbors": 5}
            ),
            Candidate(
                "logistic_regression",
                lambda s: build_pipeline(spec, LogisticRegression(C=1.0, max_iter=2000), scale=True),
                {"C": 1.0, "scaled": True},
            ),
        ]
    rf_trees, et_trees = (30, 60) if fast else (100, 300)
    found = [
        Candidate(
            "predict_mean",
            lambda s: build_pipeline(spec, DummyRegressor(strategy="mean")),
            {"strategy": "mean"},
            baseline=True,
        ),
        Candidate(
            "random_forest",
            lambda s: build_pipeline(spec, RandomForestRegressor(n_estimators=rf_trees, random_state=s, n_jobs=-1)),
            {"n_estimators": rf_trees},
            lab=True,
        ),
        Candidate(
            "extra_trees",
            lambda s: build_pipeline(
                spec, ExtraTreesRegressor(n_estimators=et_trees, max_features=0.4, random_state=s, n_jobs=-1)
            ),
            {"n_estimators": et_trees, "max_features": 0.4},
        ),
    ]
    if not fast:
        found.append(
            Candidate(
                "hist_gradient_boosting",
                lambda s: build_pipeline(
                    spec, HistGradientBoostingRegressor(learning_rate=0.05, max_iter=400, random_state=s)
                ),
                {"learning_rate": 0.05, "max_iter": 400},
            )
        )
    return found

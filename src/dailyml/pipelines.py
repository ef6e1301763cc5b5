"""The candidate scikit-learn pipelines, built from a spec (never from positional feature lists)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from dailyml.datasets import DatasetSpec
from dailyml.vocab import TrainProfile


@dataclass(frozen=True)
class Candidate:
    """A model family to try: a name, how to build the estimator, and its role in the report."""

    name: str
    build: Callable[[int], Any]
    params: dict[str, Any] = field(default_factory=dict)
    baseline: bool = False  # a reference point (majority class, the mean), never chosen
    lab: bool = False  # what the original lab shipped: the model to beat
    description: str = ""


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


def candidates(spec: DatasetSpec, profile: TrainProfile = "full") -> list[Candidate]:
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
            Candidate(
                "linear_discriminant",
                lambda s: build_pipeline(spec, LinearDiscriminantAnalysis()),
                {"solver": "svd"},
                description="one shared covariance, a linear softmax at serving time (compiled)",
            ),
        ]
    rf_trees, et_trees = (30, 60) if fast else (100, 300)
    iters, depth = (100, 6) if fast else STUDENT
    return [
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
            "distilled_boosting",
            lambda s: Distilled(
                spec.name,
                _extra_trees(spec, et_trees, s),
                build_pipeline(spec, _student(iters, depth, s)),
                multiplier=DISTILL_MULTIPLIER,
                noise=DISTILL_NOISE,
                seed=s,
            ),
            {
                "teacher": {"extra_trees": et_trees, "max_features": 0.4},
                "student": {"hist_gradient_boosting": iters, "max_depth": depth, "learning_rate": 0.1},
                "augmentation": {"multiplier": DISTILL_MULTIPLIER, "noise_std": DISTILL_NOISE},
            },
            description="gradient boosting trained on what the 300 extra trees predict around the real rows",
        ),
        Candidate(
            "hist_gradient_boosting",
            lambda s: build_pipeline(spec, _student(iters, depth, s, learning_rate=0.05)),
            {"max_iter": iters, "max_depth": depth, "learning_rate": 0.05, "min_samples_leaf": 20},
            description="gradient boosting on the real rows alone, as compact as the distilled one",
        ),
    ]


# The served wine model: a student of this size (iterations, depth) costs microseconds a row.
STUDENT = (300, 8)
DISTILL_MULTIPLIER = 4
DISTILL_NOISE = 0.15


def _extra_trees(spec: DatasetSpec, trees: int, seed: int) -> Any:
    return build_pipeline(spec, ExtraTreesRegressor(n_estimators=trees, max_features=0.4, random_state=seed, n_jobs=-1))


def _student(iters: int, depth: int, seed: int, learning_rate: float = 0.1) -> Any:
    return HistGradientBoostingRegressor(
        max_iter=iters,
        max_depth=depth,
        learning_rate=learning_rate,
        min_samples_leaf=20,
        l2_regularization=1.0 if learning_rate < 0.1 else 0.0,
        early_stopping=False,
        random_state=seed,
    )


def references(spec: DatasetSpec, profile: TrainProfile = "full") -> list[Candidate]:
    """Models ``dailyml evaluate`` measures next to ours and never serves: the issue's honest
    references beyond the baseline and the lab's model (too costly to serve, or simply worse)."""
    fast = profile == "fast"
    if spec.task == "classification":
        return []
    et_trees = 60 if fast else 300
    return [
        Candidate(
            "extra_trees",
            lambda s: _extra_trees(spec, et_trees, s),
            {"n_estimators": et_trees, "max_features": 0.4},
            description="the previous champion, fully grown: the teacher of distilled_boosting",
        )
    ]


class Distilled(BaseEstimator, RegressorMixin):  # type: ignore[misc]
    """A compact student trained on what a big teacher predicts (model compression).

    ``fit`` trains the teacher on the rows, draws ``multiplier`` x as many nearby inputs (a real
    row with each numeric feature moved by ``noise`` x that feature's standard deviation within
    its categorical group, kept non-negative), labels them with the teacher's predictions, and
    trains the student on the real rows (real labels) plus those. Only the student is kept
    (``servable_``, a plain pipeline the compiled fast path serves); the teacher is dropped.
    """

    def __init__(
        self, spec_name: str, teacher: Any, student: Any, multiplier: int = 4, noise: float = 0.15, seed: int = 0
    ) -> None:
        self.spec_name = spec_name
        self.teacher = teacher
        self.student = student
        self.multiplier = multiplier
        self.noise = noise
        self.seed = seed

    def fit(self, X: Any, y: Any) -> Distilled:
        """Train the teacher, label nearby inputs with it and train the student on both; returns self."""
        import numpy as np
        import pandas as pd
        from sklearn.base import clone

        from dailyml.datasets import get_spec

        spec = get_spec(self.spec_name)
        X = X.reset_index(drop=True)
        y = np.asarray(y, dtype=float)
        teacher = clone(self.teacher).fit(X, y)
        rng = np.random.default_rng(self.seed)
        numeric = [f.name for f in spec.numeric_features]
        groups = [f.name for f in spec.categorical_features]
        spread = X.groupby(groups)[numeric].transform("std").fillna(0.0) if groups else X[numeric].std()
        picks = rng.integers(0, len(X), len(X) * self.multiplier)
        near = X.iloc[picks].reset_index(drop=True)
        scale = (
            spread.iloc[picks].to_numpy() if groups else np.broadcast_to(spread.to_numpy(), (len(picks), len(numeric)))
        )
        moved = (
            near[numeric].to_numpy(dtype=float) + rng.standard_normal((len(picks), len(numeric))) * scale * self.noise
        )
        near[numeric] = np.maximum(moved, 0.0)
        rows = pd.concat([X, near], ignore_index=True)
        targets = np.concatenate([y, teacher.predict(near)])
        self.servable_ = clone(self.student).fit(rows, targets)
        return self

    def predict(self, X: Any) -> Any:
        """The student's predictions for the rows of ``X``."""
        return self.servable_.predict(X)


def servable(model: Any) -> Any:
    """What is registered and served for a fitted candidate (a distilled model's student)."""
    return getattr(model, "servable_", model)


class PerGroup(BaseEstimator, RegressorMixin):  # type: ignore[misc]
    """One model per value of a categorical column (wine: one per colour).

    ``fit`` clones ``base`` once per value of ``column`` seen in the rows and fits it on that
    value's rows only; ``predict`` routes each row to its value's model.
    """

    def __init__(self, column: str, base: Any) -> None:
        self.column = column
        self.base = base

    def fit(self, X: Any, y: Any) -> PerGroup:
        """Fit a clone of ``base`` on the rows of each value of ``column``; returns self."""
        import numpy as np
        from sklearn.base import clone

        y = np.asarray(y)
        values = X[self.column].to_numpy()
        self.models_ = {g: clone(self.base).fit(X[values == g], y[values == g]) for g in sorted(set(values))}
        return self

    def predict(self, X: Any) -> Any:
        """Each row of ``X`` predicted by the model of its value of ``column``."""
        import numpy as np

        values = X[self.column].to_numpy()
        out = np.empty(len(X), dtype=float)
        for g in set(values):
            mask = values == g
            out[mask] = self.models_[g].predict(X[mask])
        return out


class CumulativeOrdinal(BaseEstimator, RegressorMixin):  # type: ignore[misc]
    """An ordinal model of the grade: K-1 binary classifiers, one for each P(grade > k).

    For the sorted grades g_0 < ... < g_{K-1} seen in training, classifier k is fitted on
    ``y > g_k``. ``exceedance`` returns those probabilities made non-increasing in k (a grade
    cannot be more likely to exceed 7 than 6); ``predict`` is the expected grade
    g_0 + sum_k (g_{k+1} - g_k) P(y > g_k), and ``predict_grade`` the median grade (the first
    g_k whose exceedance is below one half).
    """

    def __init__(self, base: Any) -> None:
        self.base = base

    def fit(self, X: Any, y: Any) -> CumulativeOrdinal:
        """Fit one classifier of ``y > g_k`` per grade but the highest; returns self."""
        import numpy as np
        from sklearn.base import clone

        y = np.asarray(y, dtype=float)
        self.grades_ = np.unique(y)
        if len(self.grades_) < 2:
            raise ValueError("CumulativeOrdinal needs at least two distinct grades")
        self.models_ = [clone(self.base).fit(X, (y > k).astype(int)) for k in self.grades_[:-1]]
        return self

    def exceedance(self, X: Any) -> Any:
        """P(grade > g_k) for each row (rows) and each k < K-1 (columns), non-increasing in k."""
        import numpy as np

        p = np.column_stack([m.predict_proba(X)[:, 1] for m in self.models_])
        return np.minimum.accumulate(p, axis=1)

    def predict(self, X: Any) -> Any:
        """The expected grade of each row of ``X`` (a float)."""
        import numpy as np

        return self.grades_[0] + self.exceedance(X) @ np.diff(self.grades_)

    def predict_grade(self, X: Any) -> Any:
        """The median grade of each row of ``X``: the first grade whose exceedance is below one half."""
        import numpy as np

        return self.grades_[np.sum(self.exceedance(X) >= 0.5, axis=1)]

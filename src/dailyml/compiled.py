"""Compiled predictors: the fitted pipelines we serve, as flat NumPy arrays.

scikit-learn spends most of a one-row prediction on per-call overhead: building a DataFrame,
validating it in every pipeline step, and, for a forest, one Python-level call per tree (300
for the wine champion). Here the preprocessing becomes a row builder and the forest becomes
flat node arrays stepped for all trees at once, so one row costs tens of microseconds.

Only exactly-reproducible structures are compiled (tree ensembles, gradient-boosted trees,
logistic regression and linear discriminant analysis); other
models keep scikit-learn's own predict behind the compiled preprocessing (passthrough or
StandardScaler numeric columns, one-hot categories), and a preprocessor we cannot reproduce
returns None: that pipeline is served by scikit-learn as fitted. Tests check the compiled output
equals scikit-learn's on every reference row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

RowBuilder = Callable[[Sequence[dict[str, Any]]], np.ndarray]


def _column_part(transformer: Any, columns: list[str]) -> Callable[[Sequence[dict[str, Any]]], np.ndarray] | None:
    if transformer == "passthrough" or (isinstance(transformer, FunctionTransformer) and transformer.func is None):
        return lambda rows: np.array([[float(r[c]) for c in columns] for r in rows], dtype=np.float64)
    if isinstance(transformer, StandardScaler):
        mean = transformer.mean_ if transformer.with_mean else np.zeros(len(columns))
        scale = transformer.scale_ if transformer.with_std else np.ones(len(columns))
        return lambda rows: (np.array([[float(r[c]) for c in columns] for r in rows]) - mean) / scale
    if isinstance(transformer, OneHotEncoder) and transformer.drop in (None, "if_binary", "first"):
        blocks = []
        for i, categories in enumerate(transformer.categories_):
            kept = list(categories)
            drop = None if transformer.drop_idx_ is None else transformer.drop_idx_[i]
            if drop is not None:
                kept.pop(int(drop))
            blocks.append((columns[i], kept))

        def one_hot(rows: Sequence[dict[str, Any]]) -> np.ndarray:
            return np.array(
                [[1.0 if r[col] == cat else 0.0 for col, kept in blocks for cat in kept] for r in rows],
                dtype=np.float64,
            )

        return one_hot
    return None


def compile_preprocessor(prep: Any) -> RowBuilder | None:
    """A function turning validated rows (dicts) into the model's input matrix, or None."""
    if not isinstance(prep, ColumnTransformer) or prep.remainder not in ("drop",) or prep.sparse_output_:
        return None
    parts = []
    for name, transformer, columns in prep.transformers_:
        if name == "remainder":
            continue
        part = _column_part(transformer, list(columns))
        if part is None:
            return None
        parts.append(part)
    return lambda rows: np.hstack([p(rows) for p in parts])


@dataclass(frozen=True)
class FlatForest:
    """Every tree of a regression forest in one set of arrays (node ids offset per tree)."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depth: int

    @classmethod
    def of(cls, forest: Any) -> FlatForest:
        trees = [e.tree_ for e in forest.estimators_]
        offsets = np.cumsum([0] + [t.node_count for t in trees[:-1]])
        left, right, feature, threshold, value = [], [], [], [], []
        for off, t in zip(offsets, trees, strict=True):
            leaf = t.children_left < 0
            # A leaf points at itself, so stepping past it is harmless.
            own = np.arange(t.node_count) + off
            left.append(np.where(leaf, own, t.children_left + off))
            right.append(np.where(leaf, own, t.children_right + off))
            feature.append(np.where(leaf, 0, t.feature))
            threshold.append(np.where(leaf, np.inf, t.threshold))
            value.append(t.value[:, 0, 0])
        return cls(
            np.concatenate(left),
            np.concatenate(right),
            np.concatenate(feature),
            np.concatenate(threshold),
            np.concatenate(value),
            offsets.astype(np.int64),
            max(t.max_depth for t in trees),
        )

    def predict(self, X: np.ndarray) -> np.ndarray:
        # scikit-learn compares float32 inputs with float64 thresholds; do exactly the same.
        X32 = X.astype(np.float32).astype(np.float64)
        node = np.broadcast_to(self.roots, (X.shape[0], self.roots.size)).copy()
        rows = np.arange(X.shape[0])[:, None]
        for _ in range(self.depth):
            go_left = X32[rows, self.feature[node]] <= self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        return self.value[node].mean(axis=1)


@dataclass(frozen=True)
class FlatBoosting:
    """A fitted ``HistGradientBoostingRegressor`` (squared error) as flat node arrays.

    scikit-learn compares the float64 input with float64 thresholds and adds the trees' leaf
    values one after the other to the baseline; ``cumsum`` adds in that same order, so the sum
    is bit-identical (a pairwise ``sum`` would not be).
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depth: int
    baseline: float

    @classmethod
    def of(cls, model: Any) -> FlatBoosting | None:
        if model.n_trees_per_iteration_ != 1 or type(model._loss.link).__name__ != "IdentityLink":
            return None
        trees = [p.nodes for iteration in model._predictors for p in iteration]
        if any(t["is_categorical"].any() for t in trees):
            return None
        offsets = np.cumsum([0] + [len(t) for t in trees[:-1]]).astype(np.int64)
        left, right, feature, threshold, value = [], [], [], [], []
        for off, t in zip(offsets, trees, strict=True):
            leaf = t["is_leaf"].astype(bool)
            own = np.arange(len(t)) + off
            left.append(np.where(leaf, own, t["left"].astype(np.int64) + off))
            right.append(np.where(leaf, own, t["right"].astype(np.int64) + off))
            feature.append(np.where(leaf, 0, t["feature_idx"]))
            threshold.append(np.where(leaf, np.inf, t["num_threshold"]))
            value.append(t["value"])
        return cls(
            np.concatenate(left),
            np.concatenate(right),
            np.concatenate(feature),
            np.concatenate(threshold),
            np.concatenate(value),
            offsets,
            int(max(t["depth"].max() for t in trees)),
            float(model._baseline_prediction.ravel()[0]),
        )

    def predict(self, X: np.ndarray) -> np.ndarray:
        # Validated rows never hold NaN, so the missing-value branch of scikit-learn never applies.
        node = np.broadcast_to(self.roots, (X.shape[0], self.roots.size)).copy()
        rows = np.arange(X.shape[0])[:, None]
        for _ in range(self.depth):
            go_left = X[rows, self.feature[node]] <= self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        leaves = self.value[node]
        start = np.full((X.shape[0], 1), self.baseline)
        return np.cumsum(np.hstack([start, leaves]), axis=1)[:, -1]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class CompiledModel:
    """``predict`` (regression scores) or ``predict_proba`` (classification) on dict rows.

    ``inline`` says a one-row prediction costs microseconds (flat arrays): cheap enough for the
    event loop. Otherwise only the preprocessing is compiled and the model itself is
    scikit-learn's, which still costs milliseconds.
    """

    build_rows: RowBuilder
    predict_matrix: Callable[[np.ndarray], np.ndarray]
    classes: tuple[str, ...] | None = None
    inline: bool = True

    def predict(self, rows: Sequence[dict[str, Any]]) -> np.ndarray:
        return self.predict_matrix(self.build_rows(rows))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def compile_model(estimator: Any) -> CompiledModel | None:
    """The compiled form of a fitted ``Pipeline(prep, model)``, or None when not supported."""
    if not isinstance(estimator, Pipeline) or len(estimator.steps) != 2:
        return None
    build = compile_preprocessor(estimator.steps[0][1])
    model = estimator.steps[1][1]
    if build is None:
        return None
    if isinstance(model, RandomForestRegressor | ExtraTreesRegressor) and model.n_outputs_ == 1:
        return CompiledModel(build, FlatForest.of(model).predict)
    if isinstance(model, HistGradientBoostingRegressor):
        boosting = FlatBoosting.of(model)
        if boosting is not None:
            return CompiledModel(build, boosting.predict)
    # Multinomial for more than two classes (the only behaviour since scikit-learn 1.7).
    # Linear discriminant analysis scores classes the same way: softmax of a linear function.
    if (
        isinstance(model, LogisticRegression)
        and len(model.classes_) > 2
        and getattr(model, "multi_class", "auto") in ("auto", "multinomial")
    ) or (isinstance(model, LinearDiscriminantAnalysis) and len(model.classes_) > 2):
        coef, intercept = model.coef_.copy(), model.intercept_.copy()
        return CompiledModel(build, lambda X: _softmax(X @ coef.T + intercept), tuple(map(str, model.classes_)))
    # Anything else: skip the DataFrame and the column transformer, keep the model as fitted
    # (it was fitted on the transformer's plain array output, so it sees the same input).
    if hasattr(model, "predict_proba") and hasattr(model, "classes_"):
        return CompiledModel(build, model.predict_proba, tuple(map(str, model.classes_)), inline=False)
    return CompiledModel(build, model.predict, inline=False)

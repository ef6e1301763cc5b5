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
from typing import Any, cast

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

RowBuilder = Callable[[Sequence[dict[str, Any]]], np.ndarray]


RowValues = Callable[[dict[str, Any]], list[float]]


@dataclass(frozen=True)
class _Part:
    """One transformer of a column transformer: a row's values, then ``(x - shift) / scale``."""

    values: RowValues
    shift: np.ndarray
    scale: np.ndarray


def _column_part(transformer: Any, columns: list[str]) -> _Part | None:
    if transformer == "passthrough" or (isinstance(transformer, FunctionTransformer) and transformer.func is None):
        return _Part(lambda r: [float(r[c]) for c in columns], np.zeros(len(columns)), np.ones(len(columns)))
    if isinstance(transformer, StandardScaler):
        mean = transformer.mean_ if transformer.with_mean else np.zeros(len(columns))
        scale = transformer.scale_ if transformer.with_std else np.ones(len(columns))
        return _Part(lambda r: [float(r[c]) for c in columns], np.asarray(mean), np.asarray(scale))
    if isinstance(transformer, OneHotEncoder) and transformer.drop in (None, "if_binary", "first"):
        blocks = []
        for i, categories in enumerate(transformer.categories_):
            kept = list(categories)
            drop = None if transformer.drop_idx_ is None else transformer.drop_idx_[i]
            if drop is not None:
                kept.pop(int(drop))
            blocks.append((columns[i], kept))
        width = sum(len(kept) for _, kept in blocks)
        return _Part(
            lambda r: [1.0 if r[col] == cat else 0.0 for col, kept in blocks for cat in kept],
            np.zeros(width),
            np.ones(width),
        )
    return None


def compile_preprocessor(prep: Any) -> RowBuilder | None:
    """A function turning validated rows (dicts) into the model's input matrix, or None.

    One Python list per row and one array for all of them; scaled columns are then shifted and
    divided as ``StandardScaler`` does (``x - 0.0`` and ``x / 1.0`` leave the other columns
    exactly as they are).
    """
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
    if not parts:
        return None
    getters = [p.values for p in parts]
    shift = np.concatenate([p.shift for p in parts])
    scale = np.concatenate([p.scale for p in parts])
    affine = bool(shift.any() or (scale != 1.0).any())
    width = len(shift)

    def values(r: dict[str, Any]) -> list[float]:
        out: list[float] = []
        for get in getters:
            out += get(r)
        return out

    def build(rows: Sequence[dict[str, Any]]) -> np.ndarray:
        X = np.array([values(r) for r in rows], dtype=np.float64).reshape(len(rows), width)
        if affine:
            X -= shift
            X /= scale
        return X

    return build


@dataclass(frozen=True)
class FlatTrees:
    """Trees in one set of arrays (node ids offset per tree), stepped level by level for every
    tree at once: a handful of NumPy calls per level, whatever the number of trees.

    ``child`` interleaves the children: ``child[2 * n]`` is node ``n``'s left child and
    ``child[2 * n + 1]`` its right one, so one step is ``child[2 * n + (x > threshold)]``.
    """

    child: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    depth: int

    @classmethod
    def of(cls, trees: Sequence[tuple[np.ndarray, ...]], depth: int) -> FlatTrees:
        """From ``(is_leaf, left, right, feature, threshold, value)`` node arrays per tree."""
        offsets = np.cumsum([0] + [len(t[0]) for t in trees[:-1]]).astype(np.intp)
        child, feature, threshold, value = [], [], [], []
        for off, (leaf, lo, hi, feat, thr, val) in zip(offsets, trees, strict=True):
            # A leaf points at itself (and its threshold is +inf), so stepping past it is harmless.
            own = np.arange(len(leaf), dtype=np.intp) + off
            pairs = np.empty(2 * len(leaf), dtype=np.intp)
            pairs[0::2] = np.where(leaf, own, lo.astype(np.intp) + off)
            pairs[1::2] = np.where(leaf, own, hi.astype(np.intp) + off)
            child.append(pairs)
            feature.append(np.where(leaf, 0, feat).astype(np.intp))
            threshold.append(np.where(leaf, np.inf, thr).astype(np.float64))
            value.append(val)
        return cls(
            np.concatenate(child),
            np.concatenate(feature),
            np.concatenate(threshold),
            np.concatenate(value),
            offsets,
            depth,
        )

    def leaf_values(self, X: np.ndarray) -> np.ndarray:
        """The value of the leaf each row reaches in each tree (rows x trees).

        A row goes right when its value is greater than the threshold, left otherwise: what
        scikit-learn's ``<=`` gives for the non-NaN inputs validated rows are.
        """
        child, feature, threshold = self.child, self.feature, self.threshold
        if X.shape[0] == 1:  # the online path: 1-D indexing, about half the cost
            x = X[0]
            node = self.roots
            for _ in range(self.depth):
                node = child[2 * node + (x[feature[node]] > threshold[node])]
            return self.value[node][np.newaxis, :]  # type: ignore[no-any-return]
        flat = np.ascontiguousarray(X).ravel()
        row_start = np.arange(X.shape[0], dtype=np.intp)[:, np.newaxis] * X.shape[1]
        node = np.broadcast_to(self.roots, (X.shape[0], self.roots.size))
        for _ in range(self.depth):
            node = child[2 * node + (flat[row_start + feature[node]] > threshold[node])]
        return self.value[node]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class FlatForest:
    """A regression forest as flat trees; the prediction is the mean of the leaves."""

    trees: FlatTrees

    @classmethod
    def of(cls, forest: Any) -> FlatForest:
        """The fitted scikit-learn regression forest ``forest`` as flat trees."""
        trees = [e.tree_ for e in forest.estimators_]
        nodes = [
            (t.children_left < 0, t.children_left, t.children_right, t.feature, t.threshold, t.value[:, 0, 0])
            for t in trees
        ]
        return cls(FlatTrees.of(nodes, max(t.max_depth for t in trees)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The forest's prediction for each row of ``X`` (bit-identical to scikit-learn's)."""
        # scikit-learn compares float32 inputs with float64 thresholds; do exactly the same.
        X32 = X.astype(np.float32).astype(np.float64)
        return self.trees.leaf_values(X32).mean(axis=1)  # type: ignore[no-any-return]


class KDTreeVotes:
    """``predict_proba`` of a fitted uniform-weight ``KNeighborsClassifier`` on its k-d tree,
    for one row without scikit-learn: the same neighbours, ties included.

    Which of several equally distant points make the k nearest depends on the order the tree is
    walked and on the fixed-size max-heap that collects them, so both are reproduced as
    scikit-learn runs them (``_query_single_depthfirst``, ``heap_push``): nodes depth first,
    nearer child first (``<=``), a node skipped when its lower bound exceeds the current k-th
    distance; a point enters only when strictly nearer than the heap's root, which it replaces
    before sifting down. Squared distances are summed feature by feature in order, as the tree
    does, so they are bit-identical. Batches of more than ``ONE_BY_ONE`` rows go to
    scikit-learn's own ``predict_proba`` (vectorised, and the same answers).
    """

    ONE_BY_ONE = 16

    def __init__(self, model: KNeighborsClassifier) -> None:
        data, idx_array, node_data, node_bounds = model._tree.get_arrays()
        self.model = model
        self.k = int(model.n_neighbors)
        self.columns = [np.ascontiguousarray(data[idx_array, j]) for j in range(data.shape[1])]
        self.labels = np.asarray(model._y)[idx_array].tolist()  # class index per tree position
        self.starts = node_data["idx_start"].tolist()
        self.ends = node_data["idx_end"].tolist()
        self.leaf = node_data["is_leaf"].astype(bool).tolist()
        self.lower = node_bounds[0].tolist()
        self.upper = node_bounds[1].tolist()
        self.n_classes = len(model.classes_)

    def _min_rdist(self, node: int, pt: list[float]) -> float:
        rdist = 0.0
        for lo, hi, x in zip(self.lower[node], self.upper[node], pt, strict=True):
            d_lo, d_hi = lo - x, x - hi
            d = 0.5 * ((d_lo + abs(d_lo)) + (d_hi + abs(d_hi)))
            rdist += d * d
        return rdist

    def neighbours(self, pt: list[float]) -> list[int]:
        """Tree positions of the k nearest points, in heap order."""
        rdist_all = (self.columns[0] - pt[0]) ** 2
        for column, x in zip(self.columns[1:], pt[1:], strict=True):
            rdist_all += (column - x) ** 2
        rdists = rdist_all.tolist()
        k = self.k
        values, indices = [float("inf")] * k, [0] * k

        def push(val: float, idx: int) -> None:
            if val >= values[0]:
                return
            i = 0
            while True:
                left = 2 * i + 1
                right = left + 1
                if left >= k:
                    break
                if right >= k:
                    if values[left] > val:
                        swap = left
                    else:
                        break
                elif values[left] >= values[right]:
                    if val < values[left]:
                        swap = left
                    else:
                        break
                elif val < values[right]:
                    swap = right
                else:
                    break
                values[i], indices[i] = values[swap], indices[swap]
                i = swap
            values[i], indices[i] = val, idx

        def visit(node: int, bound: float) -> None:
            if bound > values[0]:
                return
            if self.leaf[node]:
                for i in range(self.starts[node], self.ends[node]):
                    if rdists[i] < values[0]:
                        push(rdists[i], i)
                return
            a, b = 2 * node + 1, 2 * node + 2
            bound_a, bound_b = self._min_rdist(a, pt), self._min_rdist(b, pt)
            if bound_a <= bound_b:
                visit(a, bound_a)
                visit(b, bound_b)
            else:
                visit(b, bound_b)
                visit(a, bound_a)

        visit(0, self._min_rdist(0, pt))
        return indices

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities per row of ``X``: the share of each class among the k nearest neighbours."""
        if X.shape[0] > self.ONE_BY_ONE:
            return np.asarray(self.model.predict_proba(X))
        out = np.zeros((X.shape[0], self.n_classes))
        for row, pt in enumerate(X.tolist()):
            for i in self.neighbours(pt):
                out[row, self.labels[i]] += 1.0
        out /= out.sum(axis=1)[:, np.newaxis]
        return out


def _kd_tree_knn(model: Any) -> bool:
    return (
        isinstance(model, KNeighborsClassifier)
        and getattr(model, "_fit_method", None) == "kd_tree"
        and model.weights == "uniform"
        and getattr(model, "effective_metric_", None) == "euclidean"
        and not model.outputs_2d_
    )


@dataclass(frozen=True)
class FlatBoosting:
    """A fitted ``HistGradientBoostingRegressor`` (squared error) as flat node arrays.

    scikit-learn compares the float64 input with float64 thresholds and adds the trees' leaf
    values one after the other to the baseline; ``cumsum`` adds in that same order, so the sum
    is bit-identical (a pairwise ``sum`` would not be).
    """

    trees: FlatTrees
    baseline: float

    @classmethod
    def of(cls, model: Any) -> FlatBoosting | None:
        """``model`` as flat node arrays; None unless single-output, identity link, no categorical splits."""
        if model.n_trees_per_iteration_ != 1 or type(model._loss.link).__name__ != "IdentityLink":
            return None
        trees = [p.nodes for iteration in model._predictors for p in iteration]
        if any(t["is_categorical"].any() for t in trees):
            return None
        nodes = [
            (t["is_leaf"].astype(bool), t["left"], t["right"], t["feature_idx"], t["num_threshold"], t["value"])
            for t in trees
        ]
        depth = int(max(t["depth"].max() for t in trees))
        return cls(FlatTrees.of(nodes, depth), float(model._baseline_prediction.ravel()[0]))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The boosted score of each row of ``X``: the baseline plus the leaves, summed as scikit-learn does."""
        # Validated rows never hold NaN, so the missing-value branch of scikit-learn never applies.
        leaves = self.trees.leaf_values(X)
        if X.shape[0] == 1:
            return np.concatenate(([self.baseline], leaves[0])).cumsum()[-1:]
        start = np.full((X.shape[0], 1), self.baseline)
        return np.cumsum(np.hstack([start, leaves]), axis=1)[:, -1]


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
        """Scores (regression) or class probabilities (classification) of the dict ``rows``."""
        return self.predict_matrix(self.build_rows(rows))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return cast(np.ndarray, e / e.sum(axis=1, keepdims=True))


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
    if isinstance(model, DummyClassifier) and model.strategy in ("most_frequent", "prior") and model.n_outputs_ == 1:
        # scikit-learn's answer: one-hot of the most frequent class (most_frequent), the priors (prior).
        row = np.zeros(len(model.classes_))
        if model.strategy == "prior":
            row[:] = model.class_prior_
        else:
            row[int(np.argmax(model.class_prior_))] = 1.0
        return CompiledModel(build, lambda X: np.tile(row, (X.shape[0], 1)), tuple(map(str, model.classes_)))
    if _kd_tree_knn(model):
        return CompiledModel(build, KDTreeVotes(model).predict_proba, tuple(map(str, model.classes_)))
    # Anything else: skip the DataFrame and the column transformer, keep the model as fitted
    # (it was fitted on the transformer's plain array output, so it sees the same input).
    if hasattr(model, "predict_proba") and hasattr(model, "classes_"):
        return CompiledModel(build, model.predict_proba, tuple(map(str, model.classes_)), inline=False)
    return CompiledModel(build, model.predict, inline=False)

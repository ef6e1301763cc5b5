"""Compiled predictors give scikit-learn's answers, on every reference row."""

from __future__ import annotations

import numpy as np
import pytest

from dailyml.compiled import compile_model
from dailyml.datasets import IRIS, WINE
from dailyml.pipelines import candidates, references, servable
from dailyml.settings import PROJECT_ROOT

DATA = PROJECT_ROOT / "data"


@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_compiled_forests_equal_scikit_learn_on_every_wine_row(name: str) -> None:
    frame = WINE.load_reference(DATA)
    candidate = next(c for c in [*candidates(WINE, "fast"), *references(WINE, "fast")] if c.name == name)
    model = candidate.build(3).fit(frame[WINE.feature_names], frame["label"].astype(int))
    compiled = compile_model(model)
    assert compiled is not None and compiled.inline
    expected = model.predict(frame[WINE.feature_names])
    records = frame[WINE.feature_names].to_dict("records")
    actual = compiled.predict(records)
    assert np.array_equal(actual, expected)  # bit for bit: same float32 comparisons, same leaves
    one_by_one = np.concatenate([compiled.predict([r]) for r in records[::3]])  # the online path
    assert np.array_equal(one_by_one, expected[::3])


@pytest.mark.parametrize("name", ["distilled_boosting", "hist_gradient_boosting"])
def test_compiled_gradient_boosting_equals_scikit_learn_on_every_wine_row(name: str) -> None:
    frame = WINE.load_reference(DATA)
    candidate = next(c for c in candidates(WINE, "fast") if c.name == name)
    model = servable(candidate.build(3).fit(frame[WINE.feature_names], frame["label"].astype(int)))
    compiled = compile_model(model)
    assert compiled is not None and compiled.inline
    expected = model.predict(frame[WINE.feature_names])
    records = frame[WINE.feature_names].to_dict("records")
    actual = compiled.predict(records)
    assert np.array_equal(actual, expected)  # bit for bit: same comparisons, leaves added in the same order
    one_by_one = np.concatenate([compiled.predict([r]) for r in records])  # the online path
    assert np.array_equal(one_by_one, expected)


def test_gradient_boosting_that_we_cannot_reproduce_is_served_by_scikit_learn() -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor

    from dailyml.pipelines import build_pipeline

    frame = WINE.load_reference(DATA).head(300)
    # A Poisson loss has a log link: the compiled sum would need an exp scikit-learn may round differently.
    model = build_pipeline(WINE, HistGradientBoostingRegressor(loss="poisson", max_iter=5))
    model.fit(frame[WINE.feature_names], frame["label"].astype(int))
    compiled = compile_model(model)
    assert compiled is not None and not compiled.inline
    assert np.array_equal(compiled.predict(frame[WINE.feature_names].to_dict("records")), model.predict(frame))


@pytest.mark.parametrize("name", ["logistic_regression", "linear_discriminant"])
def test_compiled_linear_classifiers_equal_scikit_learn_on_every_iris_row(name: str) -> None:
    frame = IRIS.load_reference(DATA)
    candidate = next(c for c in candidates(IRIS, "full") if c.name == name)
    model = candidate.build(0).fit(frame[IRIS.feature_names], frame["label"])
    compiled = compile_model(model)
    assert compiled is not None and compiled.inline and compiled.classes == tuple(model.classes_)
    expected = model.predict_proba(frame[IRIS.feature_names])
    actual = compiled.predict(frame[IRIS.feature_names].to_dict("records"))
    assert np.allclose(actual, expected, rtol=0, atol=1e-12)
    assert (actual.argmax(axis=1) == expected.argmax(axis=1)).all()


@pytest.mark.parametrize("name", ["majority_class", "knn_k2", "knn_k5"])
def test_iris_candidates_compile_inline_and_equal_scikit_learn_on_every_row(name: str) -> None:
    frame = IRIS.load_reference(DATA)
    candidate = next(c for c in candidates(IRIS, "full") if c.name == name)
    model = candidate.build(0).fit(frame[IRIS.feature_names], frame["label"])
    compiled = compile_model(model)
    assert compiled is not None and compiled.inline  # no scikit-learn on the one-row path
    expected = model.predict_proba(frame[IRIS.feature_names])
    rows = frame[IRIS.feature_names].to_dict("records")
    # One row at a time (the online path), and as one batch.
    one_by_one = np.vstack([compiled.predict([r]) for r in rows])
    assert np.array_equal(one_by_one, expected)
    assert np.array_equal(compiled.predict(rows), expected)


def _knn_agrees_one_by_one(X: np.ndarray, y: np.ndarray, queries: np.ndarray, k: int, leaf_size: int = 30) -> None:
    from sklearn.neighbors import KNeighborsClassifier

    from dailyml.compiled import KDTreeVotes

    model = KNeighborsClassifier(n_neighbors=k, leaf_size=leaf_size).fit(X, y)
    assert model._fit_method == "kd_tree"
    votes = KDTreeVotes(model)
    expected = model.predict_proba(queries)
    for q, e in zip(queries, expected, strict=True):
        got = votes.predict_proba(q[None, :])[0]
        assert np.array_equal(got, e), (q.tolist(), got.tolist(), e.tolist())


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7, 10])
@pytest.mark.parametrize("leaf_size", [1, 3, 30])
def test_knn_ties_are_broken_as_scikit_learn_breaks_them(k: int, leaf_size: int) -> None:
    """Adversarial ties: points on a small integer lattice, many duplicated with different labels,
    queried at lattice points, half-way points and cell centres (many equidistant neighbours)."""
    rng = np.random.default_rng(k * 100 + leaf_size)
    lattice = rng.integers(0, 3, size=(60, 4)).astype(float)
    X = np.vstack([lattice, lattice[:20]])  # exact duplicates
    y = rng.integers(0, 3, size=len(X))
    grid = np.array(np.meshgrid(*[[0.0, 0.5, 1.0, 1.5, 2.0]] * 4)).reshape(4, -1).T
    _knn_agrees_one_by_one(X, y, grid, k, leaf_size)


def test_knn_equals_scikit_learn_on_iris_grid_queries() -> None:
    """Iris is measured to 0.1 cm: queries on that grid tie often."""
    frame = IRIS.load_reference(DATA)
    X = frame[IRIS.feature_names].to_numpy(dtype=float)
    y = frame["label"].astype("category").cat.codes.to_numpy()
    rng = np.random.default_rng(5)
    queries = np.round(X[rng.integers(0, len(X), 400)] + rng.integers(-2, 3, size=(400, 4)) / 10, 1)
    for k in (2, 5):
        _knn_agrees_one_by_one(X, y, queries, k)


def test_a_preprocessor_we_cannot_reproduce_is_not_compiled() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import PolynomialFeatures

    frame = IRIS.load_reference(DATA)
    model = Pipeline(
        [
            ("prep", ColumnTransformer([("poly", PolynomialFeatures(), IRIS.feature_names)])),
            ("model", LogisticRegression(max_iter=1000)),
        ]
    ).fit(frame[IRIS.feature_names], frame["label"])
    assert compile_model(model) is None

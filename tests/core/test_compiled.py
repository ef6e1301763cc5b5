"""Compiled predictors give scikit-learn's answers, on every reference row."""

from __future__ import annotations

import numpy as np
import pytest

from dailyml.compiled import compile_model
from dailyml.datasets import IRIS, WINE
from dailyml.pipelines import candidates
from dailyml.settings import PROJECT_ROOT

DATA = PROJECT_ROOT / "data"


@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_compiled_forests_equal_scikit_learn_on_every_wine_row(name: str) -> None:
    frame = WINE.load_reference(DATA)
    candidate = next(c for c in candidates(WINE, "fast") if c.name == name)
    model = candidate.build(3).fit(frame[WINE.feature_names], frame["label"].astype(int))
    compiled = compile_model(model)
    assert compiled is not None and compiled.inline
    expected = model.predict(frame[WINE.feature_names])
    actual = compiled.predict(frame[WINE.feature_names].to_dict("records"))
    assert np.array_equal(actual, expected)  # bit for bit: same float32 comparisons, same leaves


def test_compiled_logistic_regression_equals_scikit_learn_on_every_iris_row() -> None:
    frame = IRIS.load_reference(DATA)
    candidate = next(c for c in candidates(IRIS, "full") if c.name == "logistic_regression")
    model = candidate.build(0).fit(frame[IRIS.feature_names], frame["label"])
    compiled = compile_model(model)
    assert compiled is not None and compiled.inline and compiled.classes == tuple(model.classes_)
    expected = model.predict_proba(frame[IRIS.feature_names])
    actual = compiled.predict(frame[IRIS.feature_names].to_dict("records"))
    assert np.allclose(actual, expected, rtol=0, atol=1e-12)
    assert (actual.argmax(axis=1) == expected.argmax(axis=1)).all()


@pytest.mark.parametrize("name", ["majority_class", "knn_k2", "knn_k5"])
def test_other_models_keep_scikit_learn_behind_the_compiled_preprocessing(name: str) -> None:
    frame = IRIS.load_reference(DATA)
    candidate = next(c for c in candidates(IRIS, "full") if c.name == name)
    model = candidate.build(0).fit(frame[IRIS.feature_names], frame["label"])
    compiled = compile_model(model)
    assert compiled is not None and not compiled.inline  # milliseconds: served from the threadpool
    expected = model.predict_proba(frame[IRIS.feature_names])
    assert np.array_equal(compiled.predict(frame[IRIS.feature_names].to_dict("records")), expected)


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

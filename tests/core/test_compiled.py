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
    actual = compiled.predict(frame[WINE.feature_names].to_dict("records"))
    assert np.array_equal(actual, expected)  # bit for bit: same float32 comparisons, same leaves


@pytest.mark.parametrize("name", ["distilled_boosting", "hist_gradient_boosting"])
def test_compiled_gradient_boosting_equals_scikit_learn_on_every_wine_row(name: str) -> None:
    frame = WINE.load_reference(DATA)
    candidate = next(c for c in candidates(WINE, "fast") if c.name == name)
    model = servable(candidate.build(3).fit(frame[WINE.feature_names], frame["label"].astype(int)))
    compiled = compile_model(model)
    assert compiled is not None and compiled.inline
    expected = model.predict(frame[WINE.feature_names])
    actual = compiled.predict(frame[WINE.feature_names].to_dict("records"))
    assert np.array_equal(actual, expected)  # bit for bit: same comparisons, leaves added in the same order


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

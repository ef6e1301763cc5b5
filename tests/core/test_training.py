"""Model tests: training is honest (no leakage, baselines reported, selection by CV) and reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from dailyml.datasets import IRIS, WINE, row_hash
from dailyml.scores import ClassificationMetrics
from dailyml.settings import PROJECT_ROOT
from dailyml.training import assign_split, deduplicate, train

DATA = PROJECT_ROOT / "data"


def _without_timings(value):  # type: ignore[no-untyped-def]
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k != "seconds"}
    return value


@pytest.fixture(scope="module")
def wine_frame():  # type: ignore[no-untyped-def]
    return WINE.load_reference(DATA)


@pytest.fixture(scope="module")
def wine_result(wine_frame):  # type: ignore[no-untyped-def]
    return train(WINE, wine_frame, seed=7, profile="fast")


def test_split_keeps_every_duplicate_on_one_side(wine_frame) -> None:  # type: ignore[no-untyped-def]
    split = assign_split(WINE, wine_frame, seed=1)
    keys = wine_frame.apply(lambda r: row_hash(WINE, r, with_label=True), axis=1)
    sides = split.groupby(keys).nunique()
    assert (sides == 1).all()
    test_share = (split == "test").mean()
    assert 0.17 < test_share < 0.23


def test_split_is_stratified_by_label(wine_frame) -> None:  # type: ignore[no-untyped-def]
    split = assign_split(WINE, wine_frame, seed=1)
    distinct = deduplicate(WINE, wine_frame.assign(split=split))
    shares = distinct.groupby("label")["split"].apply(lambda s: (s == "test").mean())
    for grade in ("5", "6", "7"):
        assert abs(shares[grade] - 0.2) < 0.02


def test_training_drops_duplicates_before_splitting(wine_result) -> None:  # type: ignore[no-untyped-def]
    data = wine_result.report.data
    assert data.rows == 6497 and data.duplicates_dropped == 1177
    assert data.train_rows + data.test_rows == 6497 - 1177


def test_report_has_baseline_lab_model_and_user_facing_metrics(wine_result) -> None:  # type: ignore[no-untyped-def]
    m = wine_result.report.model_dump()  # as the registry stores it
    assert m["baseline"] == "predict_mean" and m["lab_model"] == "random_forest"
    assert m["chosen"] != "predict_mean"
    hold = m["holdout"]
    for key in ("mse", "mae", "exact_accuracy", "within_one_accuracy"):
        assert key in hold
    assert set(hold["by_group"]) == {"red", "white"}
    baseline = m["candidates"]["predict_mean"]
    assert hold["mse"] < baseline["holdout"]["mse"] * 0.8  # a model that learns something
    assert baseline["cv"]["mse"] > 0.7  # predicting the mean: about the variance of the grades


def test_model_is_chosen_by_cross_validation_not_by_the_test_set(wine_result) -> None:  # type: ignore[no-untyped-def]
    m = wine_result.report
    eligible = {k: v for k, v in m.candidates.items() if not v.baseline}
    assert m.chosen == min(eligible, key=lambda k: eligible[k].cv.mean("mse"))


def test_training_is_reproducible_whatever_the_row_order(wine_frame, wine_result) -> None:  # type: ignore[no-untyped-def]
    shuffled = wine_frame.sample(frac=1.0, random_state=3)
    again = train(WINE, shuffled, seed=7, profile="fast")
    assert _without_timings(again.report.model_dump()) == _without_timings(wine_result.report.model_dump())
    assert again.new_version.data_hash == wine_result.new_version.data_hash
    X = wine_frame[WINE.feature_names].head(50)
    assert np.array_equal(again.estimator.predict(X), wine_result.estimator.predict(X))


def test_a_different_seed_gives_a_different_split(wine_frame) -> None:  # type: ignore[no-untyped-def]
    assert not assign_split(WINE, wine_frame, seed=1).equals(assign_split(WINE, wine_frame, seed=2))


def test_iris_report_has_accuracy_macro_f1_and_a_full_confusion_matrix() -> None:
    result = train(IRIS, IRIS.load_reference(DATA), seed=42, profile="fast")
    hold = result.report.holdout
    assert isinstance(hold, ClassificationMetrics)
    assert hold.accuracy > 0.85 and hold.macro_f1 > 0.85
    cm = hold.confusion_matrix
    assert cm.labels == ["setosa", "versicolor", "virginica"]
    assert sum(map(sum, cm.matrix)) == result.report.data.test_rows
    assert result.report.candidates["majority_class"].cv.mean("accuracy") < 0.4

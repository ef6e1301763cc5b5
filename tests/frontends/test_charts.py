"""Chart and table data shaped from API answers (shapes as the contracts define them)."""

from __future__ import annotations

from frontends.dashboard import charts, tables


def test_confusion_frame_keeps_every_label_and_row_shares() -> None:
    cm = {"labels": ["setosa", "versicolor", "virginica"], "matrix": [[5, 0, 0], [0, 3, 1], [0, 0, 0]], "total": 9}
    frame = charts.confusion_frame(cm)
    assert len(frame) == 9
    cell = frame[(frame.actual == "versicolor") & (frame.predicted == "virginica")].iloc[0]
    assert cell["count"] == 1 and cell["share of actual"] == 0.25
    assert frame[frame.actual == "virginica"]["share of actual"].sum() == 0  # empty class, no division by zero
    charts.confusion_heatmap(cm).to_dict()  # a valid Vega-Lite spec


def test_metrics_frame_for_wine_has_mae_and_exact_accuracy() -> None:
    points = [
        {"bucket": "2026-11-01", "n": 10, "accuracy": 0.5, "mae": 0.6, "within_one_accuracy": 0.9},
        {"bucket": "2026-11-02", "n": 12, "accuracy": 0.6, "mae": 0.5, "within_one_accuracy": 0.95},
    ]
    frame = charts.metrics_frame(points, "regression")
    assert set(frame.measure) == {"exact-grade accuracy", "within one grade", "MAE (grades)"}
    assert frame.time.notna().all()
    charts.metrics_chart(points, "regression").to_dict()
    iris = charts.metrics_frame([{"bucket": "2026-11-01T10:00:00", "n": 3, "accuracy": 1.0}], "classification")
    assert list(iris.measure) == ["accuracy"]


def test_distribution_frame_reads_float_and_category_histograms() -> None:
    numeric = {"kind": "float", "edges": [0.0, 1.0, 2.0], "categories": None, "reference": [3, 1], "synthetic": [1, 1]}
    frame = charts.distribution_frame(numeric)
    assert list(frame[frame.source == "reference"].share) == [0.75, 0.25]
    assert list(frame[frame.source == "synthetic"].share) == [0.5, 0.5]
    category = {
        "kind": "category",
        "edges": None,
        "categories": ["red", "white"],
        "reference": [1, 3],
        "synthetic": [0, 0],
    }
    frame = charts.distribution_frame(category)
    assert list(frame.bin.unique()) == ["red", "white"]
    assert frame[frame.source == "synthetic"].share.sum() == 0
    label = {"kind": "category", "labels": [3, 4], "reference": [2, 2], "synthetic": [1, 3]}
    assert list(charts.distribution_frame(label).bin.unique()) == ["3", "4"]
    charts.distribution_chart(numeric, "Alcohol (% vol)").to_dict()


def test_fidelity_rows_pick_the_headline_measures() -> None:
    report = {
        "quality": 0.874,
        "column_shapes": 0.9,
        "diagnostic": 1.0,
        "outside_real_range_share": 0.012,
        "label_distribution": {"worst_ratio": 1.21},
        "tstr": {"metric": "mse", "train_on_synthetic": 0.61, "train_on_real": 0.48},
        "rows_scored": 6000,
        "ceiling": {"quality": 0.9},
        "novelty": {"ratio": 1.04},
    }
    rows = {r["measure"]: r["value"] for r in tables.fidelity_rows(report)}
    assert rows["SDMetrics quality"] == "87.4%"
    assert rows["real vs real ceiling"] == "90.0%" and rows["novelty (distance ratio to hold-out)"] == "1.04"
    assert rows["worst label share ratio"] == "1.21"
    assert rows["train on synthetic (test on real): mse"] == "0.610"
    assert "column pair trends" not in rows  # absent measures are left out, not shown as zero

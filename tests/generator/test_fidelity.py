"""The fidelity report and the rule that picks the default synthesizer."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dailyml.datasets import get_spec
from dailyml.synth import build
from dailyml.synth.fidelity import choose_default, fidelity_report, label_distribution, rank_key, tstr
from dailyml.synth.fitting import fit_rows


def test_report_fields_on_iris(reference) -> None:  # type: ignore[no-untyped-def]
    spec = get_spec("iris")
    ref = reference["iris"]
    synth = build(spec, "empirical_copula").fit(fit_rows(spec, ref), forbidden_rows=ref)
    report = fidelity_report(spec, synth, ref, rows=600, seed=1, trees=5, fit_seconds=0.1)
    json.dumps(report)  # stored as JSON in the registry
    assert report["rows_scored"] == 600 and report["real_rows"] == 149
    assert 0.85 < report["quality"] <= 1 and 0 < report["column_shapes"] <= 1 and 0 < report["column_pair_trends"] <= 1
    assert report["diagnostic"] > 0.9
    assert set(report["column_shape_by_column"]) == {*spec.feature_names, "variety"}
    assert report["invalid_rows_kept"] == 0 and report["copies_kept"] == 0
    assert 0 <= report["copy_share_before_resampling"] < 0.2
    labels = report["label_distribution"]
    assert labels["within_limit"] and set(labels["ratio"]) == {"setosa", "versicolor", "virginica"}
    tstr = report["tstr"]
    assert tstr["metric"] == "accuracy" and tstr["test_rows"] == 30 and 0 < tstr["train_on_synthetic"] <= 1
    assert report["sample_1_ms"] > 0 and report["sample_1000_ms"] > 0 and report["fit_seconds"] == 0.1


def test_tstr_scores_a_collapsed_one_class_synthesizer_instead_of_failing(reference) -> None:  # type: ignore[no-untyped-def]
    spec = get_spec("iris")
    ref = reference["iris"]
    train, test = ref[ref["split"] == "train"], ref[ref["split"] == "test"]
    collapsed = train[train["label"] == "versicolor"]  # what a 2-epoch TVAE can emit
    result = tstr(spec, collapsed, train, test, seed=1, trees=5)
    assert result["synthetic_single_label"] is True
    # A model that has only seen versicolor answers versicolor: its accuracy is their share.
    assert result["train_on_synthetic"] == pytest.approx((test["label"] == "versicolor").mean())
    assert result["train_on_real"] > result["train_on_synthetic"]
    assert tstr(spec, train, train, test, seed=1, trees=5)["synthetic_single_label"] is False


def test_label_distribution_ratio_and_limit() -> None:
    spec = get_spec("wine")
    real = pd.DataFrame({"label": ["5"] * 50 + ["6"] * 40 + ["9"] * 10})
    synthetic = pd.DataFrame({"label": ["5"] * 50 + ["6"] * 30 + ["9"] * 20})
    dist = label_distribution(spec, real, synthetic)
    assert dist["ratio"] == pytest.approx({"5": 1.0, "6": 0.75, "9": 2.0})
    assert dist["worst_ratio"] == pytest.approx(2.0) and not dist["within_limit"]


def _report(quality: float, labels_ok: bool) -> dict:
    return {"quality": quality, "label_distribution": {"within_limit": labels_ok}}


def test_default_rule_prefers_a_faithful_label_distribution_then_quality() -> None:
    assert choose_default(_report(0.8, True), None) == (True, "no default yet; quality 0.800")
    promoted, reason = choose_default(_report(0.91, True), _report(0.90, True))
    assert promoted and "higher SDMetrics quality 0.910 > 0.900" in reason
    promoted, reason = choose_default(_report(0.95, False), _report(0.90, True))
    assert not promoted and "label distribution outside" in reason
    promoted, reason = choose_default(_report(0.80, True), _report(0.95, False))
    assert promoted and "label distribution within" in reason
    assert rank_key(_report(0.7, True)) > rank_key(_report(0.99, False))

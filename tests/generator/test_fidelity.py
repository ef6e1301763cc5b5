"""The fidelity report and the rule that picks the default synthesizer."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dailyml.datasets import get_spec
from dailyml.generation.fitting import fit_rows
from dailyml.synthesizers import build
from dailyml.synthesizers.fidelity import (
    choose_default,
    fidelity_report,
    label_distribution,
    rank_key,
    resampling_reference,
    selection_score,
    tstr,
)


def test_report_fields_on_iris(reference) -> None:  # type: ignore[no-untyped-def]
    spec = get_spec("iris")
    ref = reference["iris"]
    synth = build(spec, "empirical_copula").fit(fit_rows(spec, ref), forbidden_rows=ref)
    report = fidelity_report(spec, synth, ref, rows=600, seed=1, trees=5, fit_seconds=0.1).model_dump()
    json.dumps(report)  # stored as JSON in the registry
    # Scored against the 30 hold-out rows only, on as many rows as the real ceiling (the training rows).
    assert report["rows_sampled"] == 600 and report["real_rows"] == 149 and report["holdout_rows"] == 30
    assert report["rows_scored"] == report["train_rows"] == 119
    assert 0.75 < report["quality"] <= 1 and 0 < report["column_shapes"] <= 1 and 0 < report["column_pair_trends"] <= 1
    assert 0.75 < report["ceiling"]["quality"] <= 1
    assert report["quality_vs_ceiling"] == pytest.approx(report["quality"] / report["ceiling"]["quality"])
    novelty = report["novelty"]
    assert novelty["synthetic_median_distance"] > 0 and novelty["holdout_median_distance"] > 0
    assert novelty["ratio"] == pytest.approx(novelty["synthetic_median_distance"] / novelty["holdout_median_distance"])
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
    assert result.synthetic_single_label is True
    # A model that has only seen versicolor answers versicolor: its accuracy is their share.
    assert result.train_on_synthetic == pytest.approx((test["label"] == "versicolor").mean())
    assert result.train_on_real > result.train_on_synthetic
    assert tstr(spec, train, train, test, seed=1, trees=5).synthetic_single_label is False


def test_resampling_reference_trains_on_the_real_rows_drawn_with_replacement(reference) -> None:  # type: ignore[no-untyped-def]
    spec = get_spec("wine")
    real = spec.distinct_rows(reference["wine"])
    train, test = real[real["split"] == "train"], real[real["split"] == "test"]
    ref = resampling_reference(spec, train, test, seed=3, trees=20, repeats=2)
    assert ref.metric == "mse" and ref.repeats == 2 and ref.train_rows == len(train)
    assert ref.train_on_real == pytest.approx(tstr(spec, train, train, test, seed=3, trees=20).train_on_real)
    # Two different resamples, each holding about 63% of the distinct rows: both carry less than
    # the real rows themselves (MSE higher), and the mean is theirs.
    first, second = ref.train_on_resampled
    assert first != second and min(first, second) > ref.train_on_real
    assert ref.mean == pytest.approx((first + second) / 2)
    assert resampling_reference(spec, train, test, seed=3, trees=20, repeats=1).train_on_resampled == [first]


def test_label_distribution_ratio_and_limit() -> None:
    spec = get_spec("wine")
    real = pd.DataFrame({"label": ["5"] * 50 + ["6"] * 40 + ["9"] * 10})
    synthetic = pd.DataFrame({"label": ["5"] * 50 + ["6"] * 30 + ["9"] * 20})
    dist = label_distribution(spec, real, synthetic)
    assert dist.ratio == pytest.approx({"5": 1.0, "6": 0.75, "9": 2.0})
    assert dist.worst_ratio == pytest.approx(2.0) and not dist.within_limit


def _report(quality: float, labels_ok: bool, *, novelty: float = 1.1, ceiling: float = 0.9, tstr: float = 0.5) -> dict:
    return {
        "quality": quality,
        "quality_vs_ceiling": quality / ceiling,
        "label_distribution": {"within_limit": labels_ok},
        "novelty": {"ratio": novelty},
        "tstr": {"metric": "mse", "train_on_real": 0.45, "train_on_synthetic": tstr},
    }


def test_selection_score_weighs_quality_against_its_ceiling_and_train_on_synthetic_equally() -> None:
    assert selection_score(_report(0.9, True, ceiling=0.9, tstr=0.45)) == pytest.approx(1.0)
    assert selection_score(_report(0.45, True, ceiling=0.9, tstr=0.45)) == pytest.approx(0.75)
    assert selection_score(_report(0.9, True, ceiling=0.9, tstr=0.9)) == pytest.approx(0.75)
    assert selection_score({"quality": 0.95}) == 0.0  # a report from before hold-out scoring


def test_default_rule_needs_faithful_labels_and_novel_rows_then_the_higher_score() -> None:
    promoted, reason = choose_default(_report(0.8, True), None)
    assert promoted and reason.startswith("no default yet; score")
    promoted, reason = choose_default(_report(0.85, True, tstr=0.5), _report(0.9, True, tstr=0.6))
    assert promoted and "higher score" in reason  # better TSTR outweighs a little quality
    promoted, reason = choose_default(_report(0.95, False), _report(0.80, True))
    assert not promoted and "label distribution outside" in reason
    promoted, reason = choose_default(_report(0.95, True, novelty=0.5), _report(0.80, True))
    assert not promoted and "closer to the training rows" in reason  # memorising is not fidelity
    promoted, reason = choose_default(_report(0.80, True), _report(0.95, False))
    assert promoted and "eligible" in reason
    assert rank_key(_report(0.7, True)) > rank_key(_report(0.99, False))

"""Data tests: the reference data is the published data, and the specs describe it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dailyml.datasets import IRIS, SPECS, WINE, ReferenceDataError, get_spec
from dailyml.settings import PROJECT_ROOT

DATA = PROJECT_ROOT / "data"


def test_wine_reference_matches_the_published_counts() -> None:
    frame = WINE.load_reference(DATA)
    assert len(frame) == 1599 + 4898
    assert frame.groupby("wine_type").size().to_dict() == {"red": 1599, "white": 4898}
    assert frame["label"].value_counts().to_dict() == {
        "6": 2836,
        "5": 2138,
        "7": 1079,
        "4": 216,
        "8": 193,
        "3": 30,
        "9": 5,
    }
    assert frame.duplicated().sum() == 1177  # the lab's leak: 18% exact duplicates


def test_iris_reference_has_fifty_of_each_variety() -> None:
    frame = IRIS.load_reference(DATA)
    assert frame["label"].value_counts().to_dict() == {"setosa": 50, "versicolor": 50, "virginica": 50}


def test_tampered_wine_file_is_refused(tmp_path: Path) -> None:
    shutil.copytree(DATA, tmp_path / "data")
    path = tmp_path / "data" / "wine" / "winequality-red.csv"
    path.write_text(path.read_text().replace("7.4,", "7.5,", 1))
    with pytest.raises(ReferenceDataError, match="sha256"):
        WINE.load_reference(tmp_path / "data")


def test_missing_wine_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "wine").mkdir()
    with pytest.raises(ReferenceDataError, match="missing"):
        WINE.load_reference(tmp_path)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_valid_ranges_contain_all_reference_rows_with_room_to_spare(name: str) -> None:
    spec = get_spec(name)
    frame = spec.load_reference(DATA)
    assert spec.valid_mask(frame).all()
    for f in spec.numeric_features:
        assert f.minimum is not None and f.maximum is not None
        assert f.minimum <= frame[f.name].min() and frame[f.name].max() < f.maximum
        assert f.minimum >= 0, f"{f.name}: negative values are never physically valid"


def test_ph_is_bounded_by_the_ph_scale() -> None:
    ph = WINE.feature("ph")
    assert (ph.minimum, ph.maximum) == (0.0, 14.0)


def test_validate_row_names_each_broken_rule() -> None:
    row = {f: 1.0 for f in WINE.feature_names} | {
        "wine_type": "rose",
        "ph": 15.0,
        "alcohol": float("nan"),
        "density": 2.0,
    }
    errors = WINE.validate_row(row)
    assert set(errors) == {"wine_type", "ph", "alcohol", "density"}
    assert "red" in errors["wine_type"] and "14" in errors["ph"] and "finite" in errors["alcohol"]


def test_free_sulfur_dioxide_cannot_exceed_total() -> None:
    frame = WINE.load_reference(DATA)
    row = frame.iloc[0].to_dict() | {"free_sulfur_dioxide": 50.0, "total_sulfur_dioxide": 40.0}
    assert "free_sulfur_dioxide" in WINE.validate_row(row)


def test_grade_rounds_and_clips_to_the_known_grades() -> None:
    assert [WINE.grade(s) for s in (2.2, 5.49, 5.5, 6.51, 11.0)] == ["3", "5", "6", "7", "9"]

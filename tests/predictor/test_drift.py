"""GET /{dataset}/drift: shifted inputs are flagged, unshifted ones are not; computed by the
database on both backends (quantile bins by NTILE, counts by one aggregate query)."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from dailyml.contracts import PSI_THRESHOLD
from dailyml.datasets import IRIS, WINE
from dailyml.drift import chi_square, psi
from dailyml.featurestore import training_frame
from tests.predictor.conftest import flush


def reference_rows(db, spec, n: int, seed: int) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """``n`` rows drawn from the reference training rows, numeric features jittered by 1% of their
    spread (new flowers and wines from the same population, not copies)."""
    frame = training_frame(db.engine, spec)
    frame = frame[frame["split"] == "train"]
    # In a fixed order: rows stored in one transaction share a timestamp and their ids are random.
    frame = frame.sort_values([*spec.feature_names, "label"], kind="stable").reset_index(drop=True)
    rng = np.random.default_rng(seed)
    spread = {f.name: float(frame[f.name].std()) for f in spec.numeric_features}
    rows = []
    for i in rng.integers(0, len(frame), n):
        row = {}
        for f in spec.features:
            value = frame.iloc[int(i)][f.name]
            if f.is_categorical:
                row[f.name] = value
            else:
                row[f.name] = abs(float(value) + float(rng.normal(0.0, 0.01 * spread[f.name])))
        rows.append(row)
    return rows


def post(api: TestClient, dataset: str, rows: list[dict[str, object]]) -> None:
    response = api.post(f"/{dataset}/predict/batch", json={"instances": rows})
    assert response.status_code == 200, response.text
    flush(api)


def test_shifted_inputs_are_flagged_and_unshifted_ones_not(api: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    # Nothing recent yet: reported, never flagged.
    empty = api.get("/iris/drift", params={"window": "1h"}).json()
    assert empty["n_window"] == 0 and not empty["enough_data"] and not empty["drifted"]
    assert empty["n_reference"] > 100

    same = reference_rows(db, IRIS, 300, seed=1)
    post(api, "iris", same)
    report = api.get("/iris/drift", params={"window": "1h", "source": "online"}).json()
    assert report["n_window"] == 300 and report["enough_data"]
    assert not report["drifted"], [(f["feature"], f["psi"]) for f in report["features"]]
    assert all(f["psi"] < PSI_THRESHOLD for f in report["features"])
    for feature in report["features"]:
        bins = feature["bins"]
        assert sum(b["reference"] for b in bins) == report["n_reference"]
        assert sum(b["window"] for b in bins) == 300
        assert feature["test"] == "chi_square" and 0.0 <= feature["p_value"] <= 1.0

    # Petals 2 cm longer: that feature drifts, the untouched sepals do not.
    shifted = [{**row, "petal_length": min(float(row["petal_length"]) + 2.0, 30.0)} for row in same]  # type: ignore[arg-type]
    post(api, "iris", shifted)
    newest = api.get("/iris/drift", params={"window": "300"}).json()
    assert newest["n_window"] == 300 and newest["window"] == "300" and newest["since"] is None
    assert newest["drifted"] and newest["drifted_features"] == ["petal_length"]
    by_name = {f["feature"]: f for f in newest["features"]}
    assert by_name["petal_length"]["psi"] > PSI_THRESHOLD and by_name["petal_length"]["p_value"] < 1e-6
    assert by_name["sepal_length"]["psi"] < PSI_THRESHOLD
    # Synthetic samples only: none were made, so nothing to say.
    assert api.get("/iris/drift", params={"window": "1h", "source": "synthetic"}).json()["n_window"] == 0


def test_a_categorical_feature_drifts_by_its_categories(api: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    rows = reference_rows(db, WINE, 200, seed=2)
    post(api, "wine", rows)
    assert not api.get("/wine/drift", params={"window": "200"}).json()["drifted"]
    reds = [{**row, "wine_type": "red"} for row in rows]
    post(api, "wine", reds)
    report = api.get("/wine/drift", params={"window": "200"}).json()
    assert "wine_type" in report["drifted_features"]
    wine_type = next(f for f in report["features"] if f["feature"] == "wine_type")
    assert wine_type["kind"] == "categorical" and {b["label"] for b in wine_type["bins"]} == {"red", "white"}
    assert next(b for b in wine_type["bins"] if b["label"] == "white")["window"] == 0


def test_small_windows_flag_nothing_and_bad_windows_are_refused(api: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    post(api, "iris", [{**r, "petal_length": 9.0} for r in reference_rows(db, IRIS, 20, seed=3)])
    report = api.get("/iris/drift", params={"window": "7d"}).json()
    assert report["n_window"] == 20 and not report["enough_data"] and not report["drifted"]
    assert max(f["psi"] for f in report["features"]) > PSI_THRESHOLD  # measured, just not trusted
    for bad in ("yesterday", "0", "-5h", "12y"):
        response = api.get("/iris/drift", params={"window": bad})
        assert response.status_code == 422, bad
        assert response.json()["error"] == "validation_error"


def test_psi_and_chi_square_by_hand() -> None:
    assert psi([50, 50], [50, 50]) == 0.0
    assert psi([100, 100], [190, 10]) > 0.5
    statistic, dof, p = chi_square([30, 70], [30, 70])
    assert statistic == 0.0 and dof == 1 and p == 1.0
    statistic, dof, p = chi_square([50, 50, 0], [90, 10, 0])  # the empty bin is left out
    assert dof == 1 and statistic is not None and statistic > 30 and p is not None and p < 1e-6
    assert chi_square([10, 10], [0, 0]) == (None, 1, None)

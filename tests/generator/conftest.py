"""Generator fixtures: reference frames in memory, and checks of generated rows."""

from __future__ import annotations

import pandas as pd
import pytest

from dailyml.contracts import instance_model
from dailyml.datasets import DatasetSpec, get_spec, row_hash
from dailyml.settings import Settings
from dailyml.training import assign_split

EPOCHS = 2  # CTGAN/TVAE epochs in tests


@pytest.fixture(scope="session")
def reference() -> dict[str, pd.DataFrame]:
    """Each dataset's reference rows with the fixed split the feature store uses."""
    out = {}
    for name in ("iris", "wine"):
        spec = get_spec(name)
        frame = spec.load_reference(Settings().data_dir)
        frame["split"] = assign_split(spec, frame, 42)
        out[name] = frame
    return out


def assert_rows_pass_the_api(spec: DatasetSpec, rows: pd.DataFrame) -> None:
    """Every row validates exactly as a prediction request would, and has a known label."""
    Instance = instance_model(spec.name)
    for record in rows.to_dict("records"):
        features = {f.name: record[f.name] if f.is_categorical else float(record[f.name]) for f in spec.features}
        Instance.model_validate(features)
        assert spec.validate_row(features) == {}
        assert record["label"] in spec.labels
        if spec.label_type is int:
            assert 3 <= int(record["label"]) <= 9


def assert_no_real_copies(spec: DatasetSpec, rows: pd.DataFrame, reference: pd.DataFrame) -> None:
    real = {row_hash(spec, r) for r in reference.to_dict("records")}
    copies = [r for r in rows.to_dict("records") if row_hash(spec, r) in real]
    assert copies == []

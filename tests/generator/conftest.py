"""Generator fixtures: reference frames in memory, fast fit settings, a generator process env."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from dailyml.contracts import instance_model
from dailyml.datasets import DatasetSpec, get_spec, row_hash
from dailyml.settings import Settings
from dailyml.synth.fitting import FitSettings
from dailyml.training import assign_split
from tests.conftest import ADMIN_TOKEN, Database

# Few rows and trees: the tests check the machinery, the bench measures the fidelity.
TEST_FIT = FitSettings(report_rows=400, trees=5)
EPOCHS = 2  # CTGAN/TVAE epochs in tests
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


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


def generator_env(db: Database, **extra: Any) -> dict[str, str]:
    """A generator process on ``db`` whose first start fits one quick candidate, scored briefly."""
    env = {
        **db.env(),
        "DAILYML_GENERATOR_BOOTSTRAP_ALGORITHMS": json.dumps(["empirical_copula"]),
        "DAILYML_GENERATOR_BOOTSTRAP_REPORT_ROWS": "400",
        "DAILYML_GENERATOR_BOOTSTRAP_TREES": "5",
        "DAILYML_GENERATOR_REPORT_ROWS": "400",
        "DAILYML_GENERATOR_TREES": "5",
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env

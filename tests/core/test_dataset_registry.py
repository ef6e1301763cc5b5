"""Bring your own dataset: specs from files and entry points, checked when registered, and the
feature table every registered spec gets from ``dailyml migrate``."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from dailyml.datasets import IRIS, WINE, DatasetRegistrationError, discover
from dailyml.db import create_db_engine, migrate
from dailyml.tables import FeatureTableMismatch, sync_feature_tables

SPEC_FILE = """
import pandas as pd
from dailyml.datasets import DatasetSpec, Feature

def _load(_):
    return pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0], "label": ["small", "small", "big", "big"]})

TOYS = DatasetSpec(
    name="toys", title="Toys", task="classification", target="kind", target_description="Kind of toy",
    labels=("small", "big"), label_type=str, features=(Feature("size", "Size", unit="cm", minimum=0.0),),
    loader=_load, example={"size": 2.5},
)
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def test_a_spec_file_adds_its_datasets_after_the_built_ins(tmp_path: Path) -> None:
    specs = discover(str(_write(tmp_path / "toys.py", SPEC_FILE)))
    assert list(specs) == ["iris", "wine", "toys"]
    assert specs["toys"].example_row == {"size": 2.5}
    assert specs["toys"].load_reference(tmp_path)["label"].tolist() == ["small", "small", "big", "big"]


def test_a_folder_contributes_its_python_files(tmp_path: Path) -> None:
    _write(tmp_path / "toys.py", SPEC_FILE)
    _write(tmp_path / "games.py", SPEC_FILE.replace('name="toys"', 'name="games"'))
    _write(tmp_path / "_helpers.py", "raise RuntimeError('not a spec file')\n")
    assert list(discover(str(tmp_path))) == ["iris", "wine", "games", "toys"]


def test_every_process_reads_DAILYML_DATASET_FILES(tmp_path: Path) -> None:
    spec_file = _write(tmp_path / "toys.py", SPEC_FILE)
    code = "from dailyml.datasets import DATASET_NAMES; from dailyml.tables import feature_table; "
    code += "print(DATASET_NAMES, feature_table('toys').name)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"DAILYML_DATASET_FILES": str(spec_file), "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "('iris', 'wine', 'toys') features_toys"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("x = 1\n", "defines no DatasetSpec"),
        ("raise RuntimeError('broken on purpose')\n", "failed to load: RuntimeError('broken on purpose')"),
        (SPEC_FILE.replace('name="toys"', 'name="iris"'), "two datasets are named 'iris'"),
    ],
)
def test_a_file_that_cannot_register_is_refused_with_its_reason(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(DatasetRegistrationError, match=error.replace("(", r"\(").replace(")", r"\)")):
        discover(str(_write(tmp_path / f"bad_{abs(hash(text))}.py", text)))


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetRegistrationError, match="is not a file"):
        discover(str(tmp_path / "nowhere.py"))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"name": "Iris Flowers"}, "must match"),
        ({"example": {}}, "one valid example row"),
        ({"example": {**IRIS.example, "sepal_length": -1.0}}, "example row is not valid"),
        ({"example": {**IRIS.example, "colour": "blue"}}, "example row is not valid"),
        ({"group_feature": "sepal_length"}, "must be categorical"),
    ],
)
def test_a_spec_is_checked_when_it_is_made(change: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        dataclasses.replace(IRIS, **change)  # type: ignore[arg-type]


def test_a_regression_spec_has_integer_grades() -> None:
    with pytest.raises(ValueError, match="integer grades"):
        dataclasses.replace(WINE, labels=("low", "high"))


def test_migrate_creates_a_missing_feature_table_and_refuses_one_that_differs(empty_database_url: str) -> None:
    migrate(empty_database_url)
    engine = create_db_engine(empty_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE features_iris"))
        migrate(empty_database_url)  # a registered dataset without its table gets it
        with engine.begin() as conn:
            assert "features_iris" in sa.inspect(conn).get_table_names()
            assert sync_feature_tables(conn) == []
            conn.execute(sa.text("DROP TABLE features_iris"))
            conn.execute(sa.text("CREATE TABLE features_iris (sample_id CHAR(32) PRIMARY KEY, sepal_length FLOAT)"))
        with pytest.raises(FeatureTableMismatch, match=r"features_iris .*missing columns \['petal_length'"):
            migrate(empty_database_url)
    finally:
        engine.dispose()

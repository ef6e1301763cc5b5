"""Iris: four measurements of a flower in centimetres, three varieties."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dailyml.datasets.base import DatasetSpec, Feature

if TYPE_CHECKING:
    import pandas as pd

VARIETIES = ("setosa", "versicolor", "virginica")


def _cm(name: str, description: str) -> Feature:
    # No iris organ is longer than 30 cm; zero or negative sizes are impossible.
    return Feature(name, description, unit="cm", minimum=0.0, exclusive_minimum=True, maximum=30.0)


def _load(_: Path) -> pd.DataFrame:
    from sklearn.datasets import load_iris  # shipped with scikit-learn, no download

    bunch = load_iris(as_frame=True)
    frame = bunch.data.rename(
        columns={
            "sepal length (cm)": "sepal_length",
            "sepal width (cm)": "sepal_width",
            "petal length (cm)": "petal_length",
            "petal width (cm)": "petal_width",
        }
    )
    frame["label"] = [bunch.target_names[i] for i in bunch.target]
    return frame


IRIS = DatasetSpec(
    name="iris",
    title="Iris flowers",
    task="classification",
    target="variety",
    target_description="Iris variety",
    labels=VARIETIES,
    label_type=str,
    features=(
        _cm("sepal_length", "Sepal length"),
        _cm("sepal_width", "Sepal width"),
        _cm("petal_length", "Petal length"),
        _cm("petal_width", "Petal width"),
    ),
    loader=_load,
    # The first flower of the reference data, a setosa.
    example={"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
    primary_metric="accuracy",
    greater_is_better=True,
)

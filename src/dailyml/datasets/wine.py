"""Wine Quality (UCI): eleven physicochemical measurements plus colour, graded 3-9 by tasters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dailyml.datasets.base import Constraint, DatasetSpec, Feature, ReferenceDataError, sha256_file

if TYPE_CHECKING:
    import pandas as pd

# The published files we ship in data/wine/, by colour, with their sha256.
WINE_FILES = {
    "red": ("winequality-red.csv", "e5679c6181ed6747ea3b3bcd822abe4442ce96955a064721fce6d4e28397cdc5"),
    "white": ("winequality-white.csv", "9be11c4ba67fb9f1bcbca4222ef939bc80b05cd3e3650136058d91efd2215078"),
}

# Column names of the CSVs -> our feature names.
_COLUMNS = {
    "fixed acidity": "fixed_acidity",
    "volatile acidity": "volatile_acidity",
    "citric acid": "citric_acid",
    "residual sugar": "residual_sugar",
    "chlorides": "chlorides",
    "free sulfur dioxide": "free_sulfur_dioxide",
    "total sulfur dioxide": "total_sulfur_dioxide",
    "density": "density",
    "pH": "ph",
    "sulphates": "sulphates",
    "alcohol": "alcohol",
    "quality": "label",
}


def _load(data_dir: Path) -> pd.DataFrame:
    import pandas as pd

    frames = []
    for colour, (filename, expected) in WINE_FILES.items():
        path = data_dir / "wine" / filename
        if not path.is_file():
            raise ReferenceDataError(f"missing reference file {path}")
        actual = sha256_file(path)
        if actual != expected:
            raise ReferenceDataError(f"{path}: sha256 {actual} does not match the published {expected}")
        frame = pd.read_csv(path).rename(columns=_COLUMNS)
        frame.insert(0, "wine_type", colour)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _f(name: str, description: str, unit: str, maximum: float, minimum: float = 0.0) -> Feature:
    return Feature(name, description, unit=unit, minimum=minimum, maximum=maximum)


# Valid ranges are chemically plausible bounds, well outside what the data shows
# (e.g. residual sugar reaches ~66 g/L in the data, but dessert wines exceed 200 g/L).
WINE = DatasetSpec(
    name="wine",
    title="Wine quality",
    task="regression",
    target="quality",
    target_description="Quality grade given by tasters (3-9)",
    labels=tuple(str(g) for g in range(3, 10)),
    label_type=int,
    features=(
        Feature("wine_type", "Colour of the wine", kind="category", categories=("red", "white")),
        _f("fixed_acidity", "Fixed acidity (tartaric acid)", "g/L", 30.0),
        _f("volatile_acidity", "Volatile acidity (acetic acid)", "g/L", 5.0),
        _f("citric_acid", "Citric acid", "g/L", 5.0),
        _f("residual_sugar", "Residual sugar", "g/L", 400.0),
        _f("chlorides", "Chlorides (sodium chloride)", "g/L", 2.0),
        _f("free_sulfur_dioxide", "Free sulfur dioxide", "mg/L", 500.0),
        _f("total_sulfur_dioxide", "Total sulfur dioxide", "mg/L", 1000.0),
        _f("density", "Density", "g/cm³", 1.2, minimum=0.9),
        _f("ph", "pH", "", 14.0),
        _f("sulphates", "Sulphates (potassium sulphate)", "g/L", 5.0),
        _f("alcohol", "Alcohol", "% vol", 25.0),
    ),
    loader=_load,
    constraints=(Constraint("free_sulfur_dioxide", "total_sulfur_dioxide"),),
    primary_metric="mse",
    greater_is_better=False,
    group_feature="wine_type",
    # The first red wine of the reference data (graded 5).
    example={
        "wine_type": "red",
        "fixed_acidity": 7.4,
        "volatile_acidity": 0.7,
        "citric_acid": 0.0,
        "residual_sugar": 1.9,
        "chlorides": 0.076,
        "free_sulfur_dioxide": 11.0,
        "total_sulfur_dioxide": 34.0,
        "density": 0.9978,
        "ph": 3.51,
        "sulphates": 0.56,
        "alcohol": 9.4,
    },
)

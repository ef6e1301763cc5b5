"""Two datasets that only the frontend tests register, as a user would: this file named in
``DAILYML_DATASET_FILES`` (or its specs passed to the apps' builders). Nothing in ``frontends/``
names them.

* ``tumours``: a classification with string labels and no categorical feature (three measurements
  of scikit-learn's bundled breast-cancer data, ``malignant`` / ``benign``);
* ``exams``: a regression (integer grades 1-6) without a categorical feature, built in memory.

Loaded by path in the apps' processes, so it imports nothing from ``tests``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dailyml.datasets import DatasetSpec, Feature


def _tumours(_: Path) -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer  # shipped with scikit-learn, no download

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data[["mean radius", "mean texture", "mean smoothness"]].rename(
        columns={"mean radius": "radius", "mean texture": "texture", "mean smoothness": "smoothness"}
    )
    frame["label"] = [str(bunch.target_names[i]) for i in bunch.target]
    return frame


TUMOURS = DatasetSpec(
    name="tumours",
    title="Breast tumours",
    task="classification",
    target="diagnosis",
    target_description="Diagnosis",
    labels=("malignant", "benign"),
    label_type=str,
    features=(
        Feature("radius", "Mean radius", minimum=0.0, exclusive_minimum=True, maximum=100.0),
        Feature("texture", "Mean texture", minimum=0.0, maximum=100.0),
        Feature("smoothness", "Mean smoothness", minimum=0.0, maximum=1.0),
    ),
    loader=_tumours,
    example={"radius": 17.99, "texture": 10.38, "smoothness": 0.1184},  # the first row, malignant
)


def _exams(_: Path) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    studied = rng.uniform(0.0, 20.0, 80).round(1)
    slept = rng.uniform(4.0, 10.0, 80).round(1)
    grades = np.clip(np.round(1 + studied / 5 + (slept - 4) / 3), 1, 6).astype(int)
    return pd.DataFrame({"hours_studied": studied, "hours_slept": slept, "label": grades.astype(str)})


EXAMS = DatasetSpec(
    name="exams",
    title="Exam grades",
    task="regression",
    target="grade",
    target_description="Exam grade (1-6)",
    labels=tuple(str(g) for g in range(1, 7)),
    label_type=int,
    features=(
        Feature("hours_studied", "Hours studied", unit="h", minimum=0.0, maximum=100.0),
        Feature("hours_slept", "Hours slept the night before", unit="h", minimum=0.0, maximum=24.0),
    ),
    loader=_exams,
    primary_metric="mse",
    greater_is_better=False,
    example={"hours_studied": 10.0, "hours_slept": 7.5},
)

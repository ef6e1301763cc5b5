"""Valid request bodies, typed once for every test (a setosa and the first red wine of the
reference data)."""

from __future__ import annotations

from typing import Any

IRIS_OK: dict[str, Any] = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
WINE_OK: dict[str, Any] = {
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
}
BODIES: dict[str, dict[str, Any]] = {"iris": IRIS_OK, "wine": WINE_OK}

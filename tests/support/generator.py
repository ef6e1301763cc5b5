"""The generator in tests: quick fits in process and a generator process that starts quickly.

The tests check the machinery with few rows and trees; bench/synthesizers.py measures fidelity.
"""

from __future__ import annotations

import json

from dailyml.generation.fitting import FitSettings
from tests.support.databases import Database

# An in-process fit's fidelity report: few rows and trees.
TEST_FIT = FitSettings(report_rows=400, trees=5)


def quick_generator_env(db: Database, *, algorithm: str = "gaussian_copula", report_rows: int = 100) -> dict[str, str]:
    """A generator process on ``db`` whose first start fits one ``algorithm`` per dataset, and
    whose fits (that one and later ones) are scored on ``report_rows`` rows by 5 trees."""
    return {
        **db.env(),
        "DAILYML_GENERATOR_BOOTSTRAP_ALGORITHMS": json.dumps([algorithm]),
        "DAILYML_GENERATOR_BOOTSTRAP_REPORT_ROWS": str(report_rows),
        "DAILYML_GENERATOR_BOOTSTRAP_TREES": "5",
        "DAILYML_GENERATOR_REPORT_ROWS": str(report_rows),
        "DAILYML_GENERATOR_TREES": "5",
    }

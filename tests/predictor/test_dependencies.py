"""The predictor runs where torch and sdv are not installed (its image has neither).

scikit-learn imports torch opportunistically when it is installed (array-API support), so
"not in sys.modules" in our all-extras venv proves little; instead the predictor is started
with torch and sdv made unimportable, as in its image, and must still serve predictions.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.support.databases import Database

pytestmark = pytest.mark.processes  # the predictor in a child interpreter with torch and sdv blocked

BLOCKER = textwrap.dedent(
    """
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "sdv", "ctgan", "sdmetrics", "rdt", "copulas"):
                raise ImportError(f"{name} is not installed in the predictor image")
            return None
    sys.meta_path.insert(0, Block())
    """
)


def test_predictor_serves_without_torch_or_sdv(sqlite_db: Database) -> None:
    code = BLOCKER + textwrap.dedent(
        f"""
        from fastapi.testclient import TestClient
        from dailyml.settings import Settings
        from services.predictor.app import create_app
        settings = Settings(home={str(sqlite_db.home)!r}, database_url={sqlite_db.url!r})
        with TestClient(create_app(settings)) as client:
            assert client.get("/readyz").status_code == 200, client.get("/readyz").text
            body = dict(sepal_length=5.1, sepal_width=3.5, petal_length=1.4, petal_width=0.2)
            r = client.post("/iris/predict", json=body)
            assert r.status_code == 200 and r.json()["variety"] == "setosa", r.text
        bad = [m for m in ("torch", "sdv") if m in sys.modules]
        assert not bad, bad
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def test_without_torch_blocks_the_import_and_leaves_scipy_working() -> None:
    """What the predictor process does before loading a model: torch cannot be imported, and
    SciPy's array-API helpers (which look torch up in ``sys.modules``) still work."""
    code = textwrap.dedent(
        """
        import sys
        from services.predictor.app import without_torch
        without_torch()
        without_torch()  # idempotent
        try:
            import torch
        except ModuleNotFoundError:
            pass
        else:
            raise SystemExit("torch was imported")
        assert "torch" not in sys.modules
        from scipy import stats
        assert 0 < stats.ks_2samp([1.0, 2.0, 3.0], [2.0, 3.0, 4.5]).pvalue <= 1
        from services.predictor.app import _TorchBlocker
        assert sum(isinstance(f, _TorchBlocker) for f in sys.meta_path) == 1
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]

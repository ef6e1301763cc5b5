"""What `make up` serves, at full size: the full-profile wine models (the champion is the distilled
gradient boosting; the 300-tree ExtraTrees, fully grown, is its teacher and a reference), compiled
bit for bit, and a predictor holding two of the big forests during a hot swap within the memory
limit of its Kubernetes manifest.

The fast-profile forests elsewhere in the suite are 30 and 60 trees; depth and node counts only
show at full size. Slow (about a minute): fitting the forests dominates.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

from dailyml.compiled import compile_model
from dailyml.contracts import NewVersion
from dailyml.datasets import WINE
from dailyml.evaluation import evaluate
from dailyml.pipelines import candidates, references, servable
from dailyml.registry import Registry
from dailyml.settings import PROJECT_ROOT
from dailyml.training import (
    MODEL_KIND,
    TEST_SIZE,
    TrainingData,
    TrainingReport,
    TrainingResult,
    assign_split,
    deduplicate,
    feature_schema,
    holdout_frame,
)
from tests.support.credentials import ADMIN_TOKEN
from tests.support.databases import Database
from tests.support.processes import start_service
from tests.support.waiting import NotYet, wait_until

pytestmark = pytest.mark.slow

FULL_FORESTS = ("extra_trees", "random_forest")  # what full-profile selection chooses among for wine


def _split(seed: int = 42) -> Any:
    frame = WINE.load_reference(PROJECT_ROOT / "data")
    frame = frame.sort_values([*WINE.feature_names, "label"], kind="mergesort").reset_index(drop=True)
    frame["split"] = assign_split(WINE, frame, seed)
    return deduplicate(WINE, frame)


def fit_full(name: str, seed: int = 42) -> TrainingResult:
    """One full-profile wine candidate fitted as training fits the chosen one (training rows, seed)."""
    data = _split()
    train_rows = data[data["split"] == "train"]
    candidate = next(c for c in [*candidates(WINE, "full"), *references(WINE, "full")] if c.name == name)
    model = servable(candidate.build(seed).fit(train_rows[WINE.feature_names], train_rows["label"].astype(int)))
    holdout = evaluate(WINE, model, holdout_frame(WINE, data))
    report = TrainingReport(
        primary_metric=WINE.primary_metric,
        chosen=name,
        holdout=holdout,
        baseline="predict_mean",
        lab_model=None,
        candidates={},
        data=TrainingData(
            rows=len(data),
            duplicates_dropped=0,
            train_rows=len(train_rows),
            test_rows=len(data) - len(train_rows),
            test_size=TEST_SIZE,
            seed=seed,
            profile="full",
        ),
    )
    new = NewVersion(
        dataset=WINE.name,
        kind=MODEL_KIND,
        algorithm=name,
        params={**candidate.params, "seed": seed, "profile": "full"},
        metrics=report.model_dump(),
        data_hash=f"full-{name}-{seed}",
        feature_schema=feature_schema(WINE).model_dump(),
    )
    return TrainingResult(estimator=model, report=report, new_version=new)


@pytest.fixture(scope="module")
def full_forests() -> dict[str, TrainingResult]:
    return {name: fit_full(name) for name in FULL_FORESTS}


@pytest.mark.parametrize("name", FULL_FORESTS)
def test_full_profile_forests_compile_bit_identical_on_every_wine_row(
    name: str, full_forests: dict[str, TrainingResult]
) -> None:
    model = full_forests[name].estimator
    forest = model[-1]
    assert len(forest.estimators_) == full_forests[name].new_version.params["n_estimators"] >= 100
    assert max(t.tree_.max_depth for t in forest.estimators_) > 20  # fully grown, unlike the fast profile's
    frame = WINE.load_reference(PROJECT_ROOT / "data")
    compiled = compile_model(model)
    assert compiled is not None and compiled.inline
    expected = model.predict(frame[WINE.feature_names])
    actual = compiled.predict(frame[WINE.feature_names].to_dict("records"))
    assert np.array_equal(actual, expected)


def test_full_profile_distilled_champion_compiles_bit_identical_on_every_wine_row() -> None:
    result = fit_full("distilled_boosting")
    model = result.estimator
    boosting = model[-1]
    assert type(boosting).__name__ == "HistGradientBoostingRegressor" and boosting.n_iter_ >= 300
    frame = WINE.load_reference(PROJECT_ROOT / "data")
    compiled = compile_model(model)
    assert compiled is not None and compiled.inline
    expected = model.predict(frame[WINE.feature_names])
    actual = compiled.predict(frame[WINE.feature_names].to_dict("records"))
    assert np.array_equal(actual, expected)


def _memory_limit_mib() -> float:
    manifest = PROJECT_ROOT / "k8s" / "base" / "predictor.yaml"
    deployment = next(d for d in yaml.safe_load_all(manifest.read_text()) if d["kind"] == "Deployment")
    limit = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"]
    return float(limit[:-2]) * {"Mi": 1.0, "Gi": 1024.0}[limit[-2:]]


def _status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.fixture
def full_champion_db(sqlite_db: Database, full_forests: dict[str, TrainingResult]) -> Iterator[tuple[Database, int]]:
    """A store whose wine champion is the full-profile ExtraTrees, and a second one ready to promote."""
    registry = Registry.from_settings(sqlite_db.engine, sqlite_db.settings())
    champion = registry.register_model(full_forests["extra_trees"])
    registry.promote("wine", champion.version)
    challenger = registry.register_model(fit_full("extra_trees", seed=7))
    yield sqlite_db, challenger.version


@pytest.mark.processes
def test_full_profile_predictor_hot_swap_fits_the_kubernetes_memory_limit(
    full_champion_db: tuple[Database, int], tmp_path: Path, record_property: Any
) -> None:
    db, challenger = full_champion_db
    predictor = start_service("predictor", db.env(), tmp_path / "logs", timeout=300)
    try:
        client = httpx.Client(base_url=predictor.url, timeout=60)
        example = client.get("/wine/samples/random", params={"source": "reference"}).json()["features"]
        for _ in range(200):
            assert client.post("/wine/predict", json=example).status_code == 200
        warm = _status_mib(predictor.proc.pid, "VmRSS")
        promoted = client.post(f"/wine/models/{challenger}/promote", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert promoted.status_code == 200, promoted.text

        def serves_challenger() -> bool | NotYet:
            version = client.post("/wine/predict", json=example).json()["model_version"]
            return version == challenger or NotYet(version)

        wait_until(serves_challenger, 120, f"the predictor to serve wine v{challenger}", interval=0.2)
        peak = _status_mib(predictor.proc.pid, "VmHWM")  # the high-water mark covers the swap
        after = _status_mib(predictor.proc.pid, "VmRSS")
    finally:
        predictor.stop()
    limit = _memory_limit_mib()
    record_property("predictor_rss_mib", {"warm": round(warm), "peak": round(peak), "after_swap": round(after)})
    print(f"full-profile predictor RSS: warm {warm:.0f} MiB, peak in the swap {peak:.0f} MiB, after {after:.0f} MiB")
    assert peak < limit, f"peak RSS {peak:.0f} MiB during a hot swap exceeds the k8s limit {limit:.0f} MiB"

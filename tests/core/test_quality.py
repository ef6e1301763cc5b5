"""The quality check in CI: ``dailyml evaluate`` on the quick protocol, and the default wine
synthesizer scored on hold-out rows, each against floors well below the issue's targets, so a
regression is caught without making the suite slow (the full figures: README, docs/generator.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dailyml.assessment import Assessment, assess, recordable
from dailyml.datasets import IRIS, WINE
from dailyml.generation.fitting import fit_rows
from dailyml.registry import Registry
from dailyml.settings import PROJECT_ROOT
from dailyml.synthesizers import build
from dailyml.synthesizers.fidelity import fidelity_report
from dailyml.training import assign_split, train
from frontends.dashboard.tables import evaluated_figures
from tests.support.databases import Database

DATA = PROJECT_ROOT / "data"
WINE_KEYS = {"protocol", "mse", "mae", "exact_accuracy", "within_one_accuracy"}


@pytest.fixture(scope="module")
def wine_quick() -> Assessment:
    return assess(WINE, WINE.load_reference(DATA), quick=True, cost_calls=20)


def test_evaluate_wine_quick_protocol_stays_above_the_floors(wine_quick: Assessment) -> None:
    report = wine_quick.model_dump()  # the shape `dailyml evaluate --json` prints
    assert set(report) >= WINE_KEYS and {"red", "white"} == set(report["by_group"])
    assert report["protocol"]["rows"] == 5320 and report["protocol"]["duplicates_dropped"] == 1177
    assert report["protocol"]["n_splits"] == 3 and report["protocol"]["deduplicated_before_splitting"]
    refs = report["references"]
    assert {"predict_mean", "random_forest", "extra_trees"} <= set(refs)
    for r in refs.values():
        assert WINE_KEYS - {"protocol"} <= set(r) and r["cost"]["us_per_row"] > 0 and r["cost"]["mb"] > 0
    # Floors well below the targets (0.44 / 0.60 under the full protocol): a broken model fails them.
    assert report["mse"] < 0.53 and report["exact_accuracy"] > 0.53
    assert report["mse"] < refs["predict_mean"]["mse"] - 0.2
    assert report["cost"]["compiled"]  # the champion is served by the compiled fast path
    assert report["champion"] in report["candidates"] and not report["targets_apply"]


def test_evaluate_iris_from_the_command_line_prints_one_json_object() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "src"), str(PROJECT_ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "dailyml.cli", "evaluate", "iris", "--quick", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {"protocol", "accuracy", "macro_f1", "references", "champion", "cost"} <= set(report)
    assert {"majority_class", "knn_k2"} <= set(report["references"])
    assert all({"accuracy", "macro_f1"} <= set(r) for r in report["references"].values())
    assert report["accuracy"] > 0.93 and report["accuracy"] > report["references"]["knn_k2"]["accuracy"] - 0.02
    assert "evaluate iris" in done.stderr  # the progress display goes to stderr


def test_the_default_wine_synthesizer_scored_on_hold_out_rows_stays_above_the_floors() -> None:
    frame = WINE.load_reference(DATA)
    frame["split"] = assign_split(WINE, frame, 42)
    synth = build(WINE, "grade_copula", seed=42).fit(fit_rows(WINE, frame), forbidden_rows=frame)
    report = fidelity_report(WINE, synth, frame, rows=4300, seed=42, trees=30).model_dump()
    assert report["holdout_rows"] == 1064 and report["rows_scored"] == report["train_rows"]
    assert report["quality"] > 0.8 and report["ceiling"]["quality"] > 0.8
    assert report["novelty"]["ratio"] > 0.95  # no closer to the training rows than real hold-out rows
    assert report["copies_kept"] == 0 and report["invalid_rows_kept"] == 0
    assert report["label_distribution"]["within_limit"]
    assert report["tstr"]["train_on_synthetic"] < 0.58  # target 0.49; 0.578 before grade_copula


def test_the_champion_records_its_evaluation_and_the_dashboard_shows_it(
    sqlite_db: Database, wine_quick: Assessment
) -> None:
    registry = Registry.from_settings(sqlite_db.engine, sqlite_db.settings())
    frame = IRIS.load_reference(DATA)
    mv = registry.register_model(train(IRIS, frame, profile="fast"))
    registry.promote("iris", mv.version)
    payload = {"champion": mv.version, "versions": [{"version": mv.version, "metrics": mv.metrics}]}
    before = evaluated_figures("classification", payload)
    assert before is not None and before.startswith(f"Champion v{mv.version} offline (training CV")
    recorded = registry.record_evaluation(mv, {"protocol": {"scheme": "x"}, "accuracy": 0.9733, "macro_f1": 0.97})
    assert registry.get("iris", mv.version).metrics["evaluation"]["accuracy"] == 0.9733
    assert recorded.metrics["holdout"] == mv.metrics["holdout"]  # the rest of the metrics is kept
    payload["versions"][0]["metrics"] = recorded.metrics
    assert "dailyml evaluate, x): accuracy 97.3%" in (evaluated_figures("classification", payload) or "")
    kept = recordable(wine_quick).model_dump()
    assert kept["mse"] == wine_quick.top.mean("mse") and set(kept["references"]) == set(wine_quick.references)
    json.dumps(kept)

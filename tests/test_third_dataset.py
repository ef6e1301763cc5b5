"""A third dataset, brought from this one file: scikit-learn's breast-cancer data.

Nothing else in the repository names it. The spec below is registered only through
``DAILYML_DATASET_FILES=<this file>`` in the environment of the processes the test starts, as a
user would register a spec kept next to their data. From it alone, the system builds its feature
table (``dailyml bootstrap`` migrates), trains and promotes a champion, serves predictions,
batches, history, a confusion matrix and metrics, fits synthesizers and generates labelled rows,
runs the scheduler's daily loop, and shows it in both frontends.

The module is imported twice: by pytest (the tests) and by every dailyml process (the spec; the
test code below it is never run there), so everything above the tests must stay cheap and free
of test-only imports.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dailyml.datasets import DatasetSpec, Feature

# The 30 measurements of a cell-nucleus image, in the data's column order. Sizes in the image's
# units; no upper bound is known, so none is invented (the spec allows that).
_MEASURES = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave points",
    "symmetry",
    "fractal dimension",
)
_COLUMNS = [f"mean {m}" for m in _MEASURES] + [f"{m} error" for m in _MEASURES] + [f"worst {m}" for m in _MEASURES]


def _name(column: str) -> str:
    return column.replace(" ", "_")


def _load(_: Path) -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer  # ships with scikit-learn: no download

    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.data[_COLUMNS].rename(columns=_name)
    frame["label"] = [bunch.target_names[i] for i in bunch.target]
    return frame


BREAST_CANCER = DatasetSpec(
    name="breast_cancer",
    title="Breast cancer diagnosis",
    task="classification",
    target="diagnosis",
    target_description="Diagnosis of the imaged breast mass",
    labels=("malignant", "benign"),
    label_type=str,
    features=tuple(Feature(_name(c), c.capitalize(), minimum=0.0) for c in _COLUMNS),
    loader=_load,
    # The first row of the data (malignant).
    example=dict(
        zip(
            map(_name, _COLUMNS),
            (
                *(17.99, 10.38, 122.8, 1001.0, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871),
                *(1.095, 0.9053, 8.589, 153.4, 0.006399, 0.04904, 0.05373, 0.01587, 0.03003, 0.006193),
                *(25.38, 17.33, 184.6, 2019.0, 0.1622, 0.6656, 0.7119, 0.2654, 0.4601, 0.1189),
            ),
            strict=True,
        )
    ),
)

if __name__.startswith("tests"):  # pytest's import; not a dailyml process loading the spec
    import os
    import re
    import subprocess
    import sys
    from collections.abc import Iterator
    from dataclasses import dataclass
    from datetime import timedelta
    from typing import Any

    import httpx
    import pytest

    from tests.support import clock
    from tests.support.credentials import ADMIN_HEADERS, ADMIN_TOKEN, ARTIFACT_KEY
    from tests.support.processes import ServiceProcess, start_service
    from tests.support.waiting import TIMEOUT_SCALE, NotYet, wait_until

    pytestmark = [pytest.mark.slow, pytest.mark.processes]

    NAME = BREAST_CANCER.name

    def scaled(seconds: float) -> float:
        return seconds * TIMEOUT_SCALE

    @dataclass
    class Stack:
        env: dict[str, str]
        bootstrap_output: str
        services: dict[str, ServiceProcess]

        def url(self, name: str) -> str:
            return self.services[name].url

        def get(self, service: str, path: str, **params: Any) -> Any:
            response = httpx.get(self.url(service) + path, params=params, headers=ADMIN_HEADERS, timeout=scaled(60))
            assert response.status_code == 200, response.text
            return response.json()

        def post(self, service: str, path: str, body: Any = None, *, timeout: float = 60) -> Any:
            response = httpx.post(self.url(service) + path, json=body, headers=ADMIN_HEADERS, timeout=scaled(timeout))
            assert response.status_code in (200, 201, 202), response.text
            return response.json()

    @pytest.fixture(scope="module")
    def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
        home = tmp_path_factory.mktemp("third-dataset")
        env = {
            "DAILYML_DATASET_FILES": str(Path(__file__).resolve()),
            "DAILYML_HOME": str(home),
            "DAILYML_DATABASE_URL": f"sqlite:///{home / 'dailyml.db'}",
            "DAILYML_ADMIN_TOKEN": ADMIN_TOKEN,
            "DAILYML_ARTIFACT_KEY": ARTIFACT_KEY,
            "DAILYML_TRAIN_PROFILE": "fast",
            # The test drives the daily run itself: crons that neither fire nor are caught up.
            "DAILYML_SCHEDULER_DAILY_CRON": clock.daily_cron_fired(timedelta(hours=12)),
            "DAILYML_SCHEDULER_RETRAIN_CRON": clock.yearly_cron_fired(timedelta(days=180)),
            "DAILYML_SCHEDULER_RUN_ON_FIRST_START": "false",
            "DAILYML_SCHEDULER_MISFIRE_GRACE_HOURS": "0.001",
            "DAILYML_SCHEDULER_JOB_POLL_SECONDS": "0.5",
        }
        bootstrap = subprocess.run(
            [sys.executable, "-m", "dailyml.cli", "bootstrap", "--fast"],
            env={**os.environ, **env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=scaled(600),
        )
        assert bootstrap.returncode == 0, bootstrap.stdout + bootstrap.stderr
        logs = home / "logs"
        services: dict[str, ServiceProcess] = {}
        try:
            services["predictor"] = start_service("predictor", env, logs, timeout=120)
            services["generator"] = start_service("generator", env, logs, timeout=120)
            urls = {
                "DAILYML_PREDICTOR_URL": services["predictor"].url,
                "DAILYML_GENERATOR_URL": services["generator"].url,
            }
            services["scheduler"] = start_service("scheduler", {**env, **urls}, logs, timeout=120)
            ui_env = {**urls, "DAILYML_SCHEDULER_URL": services["scheduler"].url, "DAILYML_HOME": str(home / "ui")}
            ui_env["DAILYML_DATASET_FILES"] = env["DAILYML_DATASET_FILES"]
            services["gradio"] = start_service("gradio", ui_env, logs, ready_path="/", timeout=180)
            services["dashboard"] = start_service("dashboard", ui_env, logs, ready_path="/_stcore/health", timeout=180)
            yield Stack(env, bootstrap.stdout + bootstrap.stderr, services)
        finally:
            for service in services.values():
                service.stop()

    def test_the_spec_is_registered_from_this_file_only(stack: Stack) -> None:
        """The processes know the dataset; the pytest process, which was not given the file, does not."""
        from dailyml.datasets import SPECS

        assert NAME not in SPECS
        assert NAME in stack.bootstrap_output
        spec = stack.get("predictor", f"/{NAME}/spec")
        assert [f["name"] for f in spec["features"]] == BREAST_CANCER.feature_names
        assert spec["labels"] == ["malignant", "benign"] and spec["task"] == "classification"
        assert spec["features"][0]["reference"]["median"] > 0  # the reference rows were loaded

    def test_bootstrap_trained_and_promoted_a_champion(stack: Stack) -> None:
        models = stack.get("predictor", f"/{NAME}/models")
        assert models["champion"] == 1
        (version,) = models["versions"]
        # Chosen by cross-validation, then scored on hold-out rows it never saw (duplicates dropped first).
        metrics = version["metrics"]
        assert metrics["candidates"][metrics["chosen"]]["cv"]["accuracy"] > 0.9
        assert metrics["holdout"]["accuracy"] > 0.9

    def test_predict_batch_history_confusion_matrix_and_metrics(stack: Stack) -> None:
        answer = stack.post("predictor", f"/{NAME}/predict", BREAST_CANCER.example_row)
        assert answer["diagnosis"] in BREAST_CANCER.labels and answer["model_version"] == 1
        assert set(answer["probabilities"]) == set(BREAST_CANCER.labels)
        wrong = {**BREAST_CANCER.example_row, "mean_area": -1}
        bad = httpx.post(f"{stack.url('predictor')}/{NAME}/predict", json=wrong)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "mean_area"

        reference = [stack.get("predictor", f"/{NAME}/samples/random") for _ in range(3)]
        batch = stack.post("predictor", f"/{NAME}/predict/batch", {"instances": [r["features"] for r in reference]})
        assert len(batch["predictions"]) == 3
        prediction_id = batch["predictions"][0]["prediction_id"]
        stack.post("predictor", f"/{NAME}/predictions/{prediction_id}/actual", {"actual": reference[0]["diagnosis"]})

        def logged() -> bool | NotYet:
            page = stack.get("predictor", f"/{NAME}/history", limit=10, source="online")
            return page["total"] >= 4 or NotYet(f"{page['total']} online predictions stored")

        wait_until(logged, 30, "the four online predictions in the history")
        matrix = stack.get("predictor", f"/{NAME}/confusion-matrix", source="online")
        assert matrix["labels"] == ["malignant", "benign"]
        assert sum(map(sum, matrix["matrix"])) == 1  # the one prediction whose true label was given
        points = stack.get("predictor", f"/{NAME}/metrics", bucket="day", source="online")["points"]
        assert sum(p["n"] for p in points) == 1 and points[-1]["accuracy"] in (0.0, 1.0)

    def test_generator_fits_synthesizers_and_generates_labelled_rows(stack: Stack) -> None:
        def default_synthesizer() -> bool | NotYet:
            listing = stack.get("generator", f"/{NAME}/synthesizers")
            return listing["default"] is not None or NotYet(str(listing)[:300])

        wait_until(default_synthesizer, 300, f"the generator's first {NAME} synthesizer")
        generated = stack.post("generator", f"/{NAME}/generate", {"n": 20})
        assert generated["n"] == 20
        for sample in generated["samples"]:
            assert sample["diagnosis"] in BREAST_CANCER.labels
            assert BREAST_CANCER.validate_row(sample["features"]) == {}
        # The fitted synthesizers were scored on reference rows they never saw.
        listing = stack.get("generator", f"/{NAME}/synthesizers")
        default = next(v for v in listing["versions"] if v["version"] == listing["default"])
        report = default["metrics"]
        assert report["protocol"].endswith("hold-out rows only") and report["holdout_rows"] > 50
        assert 0.5 < report["quality"] <= 1 and report["copies_kept"] == 0 and report["invalid_rows_kept"] == 0

    def test_scheduler_daily_run(stack: Stack) -> None:
        runs = stack.post("scheduler", "/runs", {"job": "daily", "dataset": NAME}, timeout=300)
        (run,) = runs["items"]
        assert run["status"] == "succeeded", run.get("error")
        history = stack.get("predictor", f"/{NAME}/history", source="synthetic", limit=50)
        assert history["total"] >= 1
        assert all(item["actual"] in BREAST_CANCER.labels for item in history["items"])
        assert sum(map(sum, stack.get("predictor", f"/{NAME}/confusion-matrix", source="synthetic")["matrix"])) >= 1
        # Scheduled by default: every job runs for every registered dataset.
        assert all(NAME in job["datasets"] for job in stack.get("scheduler", "/schedule")["jobs"])

    def test_gradio_app_has_a_tab_for_it(stack: Stack) -> None:
        from tests.support.browser import PAGE_TIMEOUT_MS, open_page

        with open_page() as page:
            page.goto(stack.url("gradio"))
            page.get_by_role("tab", name=BREAST_CANCER.title).click()
            page.locator(f"#{NAME}-predict").click()
            result = page.locator(f"#{NAME}-result")
            result.get_by_text(re.compile(r"malignant|benign")).first.wait_for(timeout=PAGE_TIMEOUT_MS)
            assert "model version v1" in result.inner_text()

    def test_dashboard_shows_it(stack: Stack) -> None:
        from tests.support.browser import PAGE_TIMEOUT_MS, open_page

        with open_page() as page:
            page.goto(stack.url("dashboard") + f"/?dataset={NAME}")
            page.get_by_text(f"{BREAST_CANCER.title} · monitoring").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            page.get_by_text(re.compile(r"labelled predictions")).first.wait_for(timeout=PAGE_TIMEOUT_MS)

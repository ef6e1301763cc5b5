"""The dashboard with every service running: predictor, generator (real synthesizers) and scheduler.

Shows what the predictor alone cannot: synthetic vs reference distributions, the synthesizer's
fidelity report and the scheduler's runs. Checked with AppTest and in Chromium (screenshots).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from dailyml.clients.generator import GeneratorClient
from dailyml.clients.scheduler import SchedulerClient
from tests.frontends.conftest import Stack, copy_to_docs, screenshot
from tests.frontends.test_dashboard_apptest import SCRIPT
from tests.support import clock
from tests.support.browser import PAGE_TIMEOUT_MS
from tests.support.processes import ServiceProcess, start_service

pytestmark = pytest.mark.processes


@dataclass
class FullStack:
    stack: Stack
    generator: ServiceProcess
    scheduler: ServiceProcess

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.stack.env,
            "DAILYML_GENERATOR_URL": self.generator.url,
            "DAILYML_SCHEDULER_URL": self.scheduler.url,
        }


def _scheduler_env(env: dict[str, str], generator_url: str) -> dict[str, str]:
    """A scheduler whose jobs never fire during the test: its runs come from ``POST /runs``."""
    return {
        **env,
        "DAILYML_GENERATOR_URL": generator_url,
        "DAILYML_SCHEDULER_DAILY_CRON": clock.daily_cron_fired(timedelta(hours=12)),
        "DAILYML_SCHEDULER_RETRAIN_CRON": clock.yearly_cron_fired(timedelta(days=180)),
        "DAILYML_SCHEDULER_MISFIRE_GRACE_HOURS": "1",
        "DAILYML_SCHEDULER_RUN_ON_FIRST_START": "false",
    }


def _run_daily(url: str, token: str) -> None:
    """Today's daily loop for every dataset, through the scheduler's API (it waits for the runs)."""
    with SchedulerClient(url, admin_token=token, timeout=300) as client:
        page = client.trigger("daily")
        assert {(r.dataset, r.status) for r in page.items} == {("iris", "succeeded"), ("wine", "succeeded")}, page


@pytest.fixture(scope="module")
def full(seeded_stack: Stack) -> Iterator[FullStack]:
    env = seeded_stack.env
    generator = start_service("generator", env, seeded_stack.log_dir, timeout=240)
    scheduler = None
    try:
        scheduler = start_service("scheduler", _scheduler_env(env, generator.url), seeded_stack.log_dir)
        _run_daily(scheduler.url, env["DAILYML_ADMIN_TOKEN"])
        with GeneratorClient(generator.url, admin_token=env["DAILYML_ADMIN_TOKEN"]) as gen:
            predictor = seeded_stack.client()
            for dataset in ("iris", "wine"):
                gen.generate(dataset, n=60)
                predictor.predict_pending(dataset)
        yield FullStack(seeded_stack, generator, scheduler)
    finally:
        if scheduler:
            scheduler.stop()
        generator.stop()


def _app(full: FullStack, monkeypatch: pytest.MonkeyPatch, dataset: str) -> AppTest:
    for key, value in full.env.items():
        monkeypatch.setenv(key, value)
    at = AppTest.from_file(str(SCRIPT), default_timeout=60)
    at.query_params["dataset"] = dataset
    at.run()
    assert not at.exception, at.exception
    return at


def _tables(at: AppTest) -> list[Any]:
    return [d.value for d in at.dataframe]


def test_distributions_fidelity_and_runs_are_shown(full: FullStack, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(full, monkeypatch, "wine")
    assert not [i.value for i in at.info if "not available" in i.value]
    charts = at.main.get("vega_lite_chart")
    assert len(charts) == 4  # heatmap, metrics over time, data drift, synthetic vs reference
    assert at.selectbox(key="dist-wine").value == "fixed_acidity"  # first numeric feature
    at.selectbox(key="dist-wine").set_value("quality").run()  # the label's distribution too
    assert not at.exception

    tables = _tables(at)
    measures = set(at.table[0].value.index)  # the fidelity table
    assert {"SDMetrics quality", "column shapes", "worst label share ratio"} <= measures
    assert any(m.startswith("train on synthetic (test on real)") for m in measures)
    runs = next(t for t in tables if "job" in t.columns)
    assert "daily" in set(runs["job"])
    assert runs["status"].str.contains("succeeded").any()
    assert any(m.value.startswith("**Default synthesizer v1**") for m in at.markdown)


def test_full_dashboard_in_the_browser(page: Any, full: FullStack) -> None:
    dashboard = start_service("dashboard", full.env, full.stack.log_dir, ready_path="/_stcore/health")
    try:
        for dataset in ("iris", "wine"):
            page.goto(f"{dashboard.url}/?dataset={dataset}", timeout=PAGE_TIMEOUT_MS)
            page.get_by_text(re.compile(r"^updated \d\d:\d\d:\d\d$")).wait_for(timeout=PAGE_TIMEOUT_MS)
            page.locator('[data-testid="stVegaLiteChart"]').nth(2).wait_for(timeout=PAGE_TIMEOUT_MS)
            page.get_by_text(re.compile(r"^Default synthesizer v\d+")).wait_for(timeout=PAGE_TIMEOUT_MS)
            page.get_by_text(re.compile(r"^latest \d+ of \d+ runs$")).wait_for(timeout=PAGE_TIMEOUT_MS)
            copy_to_docs(screenshot(page, f"dashboard-{dataset}", height=2700))
    finally:
        dashboard.stop()

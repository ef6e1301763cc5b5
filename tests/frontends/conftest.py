"""Fixtures of the frontend tests: a seeded predictor process shared by a module, the frontends as
processes pointed at it, and a real Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dailyml.clients import PredictorClient
from tests.support import seeding
from tests.support.browser import PAGE_TIMEOUT_MS, chromium
from tests.support.credentials import ADMIN_TOKEN
from tests.support.databases import Database, sqlite_copy
from tests.support.net import free_port
from tests.support.processes import ServiceProcess, start_service

# Screenshots land here (gitignored); good ones are copied to docs/img/ by hand for the README.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

ONLINE_PER_DATASET = 24  # half of them labelled
SYNTHETIC_PER_DATASET = 10
PAST_DAYS, PAST_PER_DAY = 14, 6  # labelled, backdated; their batch is also logged unlabelled today
PAST_PER_DATASET = PAST_DAYS * PAST_PER_DAY
TOTAL_PER_DATASET = ONLINE_PER_DATASET + SYNTHETIC_PER_DATASET + 2 * PAST_PER_DATASET
LABELLED_PER_DATASET = ONLINE_PER_DATASET // 2 + SYNTHETIC_PER_DATASET + PAST_PER_DATASET


@dataclass
class Stack:
    """A database and the services on it; ``env`` points a frontend at them."""

    db: Database
    predictor: ServiceProcess
    log_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            **self.db.env(),
            "DAILYML_PREDICTOR_URL": self.predictor.url,
            # Nothing listens on port 9 (discard): the generator and scheduler show as unavailable.
            "DAILYML_GENERATOR_URL": "http://127.0.0.1:9",
            "DAILYML_SCHEDULER_URL": "http://127.0.0.1:9",
        }

    def client(self) -> PredictorClient:
        return PredictorClient(self.predictor.url, admin_token=ADMIN_TOKEN)


@pytest.fixture(scope="module")
def seeded_stack(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A predictor on a SQLite store holding, for both datasets, online predictions (half labelled),
    two weeks of labelled past predictions, and predicted labelled synthetic samples (the newest)."""
    tmp = tmp_path_factory.mktemp("frontends-seeded")
    db = sqlite_copy(sqlite_template, tmp)
    predictor = start_service("predictor", db.env(), tmp / "logs")
    stack = Stack(db, predictor, tmp / "logs")
    try:
        with stack.client() as client:
            for dataset in ("iris", "wine"):
                seeding.past_predictions(db.engine, client, dataset, PAST_DAYS, PAST_PER_DAY)
                seeding.online_predictions(client, dataset, ONLINE_PER_DATASET, label_every=2)
                seeding.synthetic_samples(db.engine, client, dataset, SYNTHETIC_PER_DATASET)
        yield stack
    finally:
        predictor.stop()
        db.engine.dispose()


@pytest.fixture
def empty_stack(sqlite_db: Database, tmp_path: Path) -> Iterator[Stack]:
    """A predictor on a store with reference rows and models but no predictions at all."""
    predictor = start_service("predictor", sqlite_db.env(), tmp_path / "logs")
    yield Stack(sqlite_db, predictor, tmp_path / "logs")
    predictor.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})  # type: ignore[attr-defined]
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: object, name: str, *, height: int | None = None) -> Path:
    """Save a PNG of the page under ``test-artifacts/screenshots/``; ``height`` grows the viewport
    first (Streamlit scrolls inside the page, so a full-page shot needs a tall window)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if height:
        page.set_viewport_size({"width": 1280, "height": height})  # type: ignore[attr-defined]
        page.wait_for_timeout(600)  # type: ignore[attr-defined]
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def copy_to_docs(path: Path) -> None:
    """Refresh a README screenshot when asked (``DAILYML_UPDATE_DOC_SCREENSHOTS=1``)."""
    if os.environ.get("DAILYML_UPDATE_DOC_SCREENSHOTS") == "1":
        target = Path(__file__).resolve().parents[2] / "docs" / "img" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def launch_in_process(demo: Any) -> str:
    """Serve a Gradio app built in this process on a free loopback port; its URL (close the demo after)."""
    from frontends.gradio_app.app import launch_options

    port = free_port()
    demo.queue().launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        ssr_mode=False,
        quiet=True,
        **launch_options(),
    )
    return f"http://127.0.0.1:{port}"

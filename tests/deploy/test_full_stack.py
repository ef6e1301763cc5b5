"""The compose topology as plain processes: PostgreSQL, the one-off migration (``dailyml bootstrap``),
two predictors, the generator, the scheduler and both frontends, each with the environment
``docker compose config`` gives its container (service names swapped for local ports, a private
DAILYML_HOME per process as a container would have). Then the daily loop over HTTP, a champion
change seen by both predictor replicas, and the dashboard in a real browser."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dailyml.clients import PredictorClient
from dailyml.datasets import IRIS
from dailyml.observability.context import request_scope
from tests.deploy.manifests import REPO, compose_model, write_env_file
from tests.support import clock
from tests.support.browser import PAGE_TIMEOUT_MS, open_page
from tests.support.credentials import ADMIN_TOKEN, ARTIFACT_KEY
from tests.support.net import free_port
from tests.support.observability import Scrape, wait_for_log_lines
from tests.support.postgres import PostgresServer
from tests.support.processes import ServiceProcess, start_service
from tests.support.waiting import NotYet, WaitTimeout, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.processes]

ARTIFACTS = REPO / "test-artifacts" / "deploy"
# What the test's .env sets, as a user would in .env: fast training, and crons that neither fire
# nor are caught up while the test drives the runs itself, at whatever hour it runs.
TEST_DOT_ENV = {
    "DAILYML_ADMIN_TOKEN": ADMIN_TOKEN,
    "DAILYML_ARTIFACT_KEY": ARTIFACT_KEY,
    "DAILYML_TRAIN_PROFILE": "fast",
    "DAILYML_SCHEDULER_DAILY_CRON": clock.daily_cron_fired(timedelta(hours=12)),
    "DAILYML_SCHEDULER_RETRAIN_CRON": clock.yearly_cron_fired(timedelta(days=180)),
    "DAILYML_SCHEDULER_RUN_ON_FIRST_START": "false",
    "DAILYML_SCHEDULER_MISFIRE_GRACE_HOURS": "0.001",
    "DAILYML_SCHEDULER_BACKOFF_SECONDS": "0.5",
    "DAILYML_SCHEDULER_JOB_POLL_SECONDS": "0.5",
}
HEALTH = {"gradio": "/", "dashboard": "/_stcore/health"}


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (Streamlit, uvicorn workers), in MiB."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def wait_ready(service: ServiceProcess, path: str, timeout: float) -> None:
    """Poll ``path`` until 200; fail at once with the log if the process exits."""

    def ready() -> bool | NotYet:
        if service.proc.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {service.proc.returncode}:\n{service.log()[-4000:]}")
        response = httpx.get(service.url + path, timeout=5)
        return response.status_code == 200 or NotYet(f"{response.status_code} {response.text[:300]}")

    try:
        wait_until(ready, timeout, f"{service.name} to answer 200 on {path}", interval=0.2, ignore=(httpx.HTTPError,))
    except WaitTimeout as exc:
        raise RuntimeError(f"{exc}\n{service.log()[-4000:]}") from None


@dataclass
class Stack:
    env: dict[str, dict[str, str]]
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    daily_request_id: str = ""
    daily_counts: dict[str, Any] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.services[name].url

    def predictor(self, name: str = "predictor") -> PredictorClient:
        return PredictorClient(self.url(name), admin_token=ADMIN_TOKEN, timeout=60)


def compose_environments(tmp_path: Path, database_url: str, ports: dict[str, int]) -> dict[str, dict[str, str]]:
    """Each service's environment as compose resolves it, mapped from the compose network to localhost."""
    model = compose_model(write_env_file(tmp_path, **TEST_DOT_ENV))
    local = {
        "http://predictor:8000": f"http://127.0.0.1:{ports['predictor']}",
        "http://generator:8001": f"http://127.0.0.1:{ports['generator']}",
        "http://scheduler:8002": f"http://127.0.0.1:{ports['scheduler']}",
    }
    envs = {}
    for name, service in model["services"].items():
        if name == "db":
            continue
        env = {k: str(v) for k, v in service["environment"].items() if v is not None}
        if "DAILYML_DATABASE_URL" in env:
            assert env["DAILYML_DATABASE_URL"].endswith("@db:5432/dailyml")
            env["DAILYML_DATABASE_URL"] = database_url
        env = {k: local.get(v, v) for k, v in env.items()}
        # The image's ENV: a private writable home (no disk shared between containers); the
        # reference data where a checkout has it (the images carry it in /app/data).
        env["DAILYML_HOME"] = str(tmp_path / "home" / name)
        env.pop("DAILYML_DATA_DIR", None)
        envs[name] = env
    return envs


@pytest.fixture(scope="module")
def stack(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp_path = tmp_path_factory.mktemp("fullstack")
    logs = tmp_path / "logs"
    database_url = postgres_server.create_database(f"fullstack_{uuid.uuid4().hex[:8]}")
    ports = {
        name: free_port() for name in ("predictor", "predictor-2", "generator", "scheduler", "gradio", "dashboard")
    }
    stack = Stack(compose_environments(tmp_path, database_url, ports))
    try:
        # `migrate` (one-off, like compose's): migrations, reference data, first models.
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "dailyml.cli", "bootstrap"],
            env={"PATH": "/usr/bin:/bin", **stack.env["migrate"]},
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        stack.timings["migrate (bootstrap, fast profile)"] = time.monotonic() - started

        # Then what waits for it, in compose's order: the APIs, then the scheduler and the frontends.
        def start_group(group: dict[str, str], timeout: float) -> None:
            launched = time.monotonic()
            for name in group:
                service = name.split("-")[0]
                stack.services[name] = start_service(
                    service, stack.env[service], logs, port=ports[name], ready_path=None
                )
            for name, ready_path in group.items():
                wait_ready(stack.services[name], ready_path, timeout)
                stack.timings[f"{name} ready (s after its group started)"] = time.monotonic() - launched

        start_group({"predictor": "/readyz", "predictor-2": "/readyz", "generator": "/readyz"}, timeout=600)
        start_group({"scheduler": "/readyz", **HEALTH}, timeout=180)
        yield stack
    finally:
        for service in stack.services.values():
            service.stop()
        postgres_server.drop_database(database_url.rsplit("/", 1)[-1])
        report = {
            "timings_s": {k: round(v, 1) for k, v in stack.timings.items()},
        }
        print("\nfull stack:", json.dumps(report, indent=2))


def test_every_process_got_the_compose_environment(stack: Stack) -> None:
    assert stack.env["predictor"]["DAILYML_ARTIFACT_STORE"] == "database"
    assert stack.env["predictor"]["DAILYML_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "DAILYML_DATABASE_URL" not in stack.env["gradio"]
    homes = {env["DAILYML_HOME"] for env in stack.env.values()}
    assert len(homes) == len(stack.env), "each process has its own home: nothing shared on disk"
    for name in ("gradio", "dashboard", "scheduler"):
        assert stack.env[name]["DAILYML_PREDICTOR_URL"] == stack.url("predictor")
        assert stack.env[name]["DAILYML_GENERATOR_URL"].startswith("http://127.0.0.1:")


def test_daily_loop_end_to_end_over_http(stack: Stack) -> None:
    from dailyml.clients.generator import GeneratorClient

    generator = GeneratorClient(stack.url("generator"), admin_token=ADMIN_TOKEN, timeout=60)
    predictor = stack.predictor()
    key = f"fullstack-{uuid.uuid4().hex[:8]}"
    generated = generator.generate("iris", n=5, idempotency_key=key)
    assert generated.n == 5 and len(generated.samples) == 5 and not generated.replayed
    assert generator.generate("iris", n=5, idempotency_key=key).replayed is True

    pending = predictor.predict_pending("iris")
    assert pending.predicted >= 5
    history = predictor.history("iris", source="synthetic", limit=100)
    generated_ids = {s["sample_id"] for s in generated.samples}
    seen = [item for item in history.items if str(item.sample_id) in generated_ids]
    assert len(seen) == 5
    assert all(item.actual is not None and item.predicted in IRIS.labels for item in seen)
    matrix = predictor.confusion_matrix("iris")
    assert sum(sum(row) for row in matrix.matrix) >= 5

    # The same loop driven by the scheduler, for the other dataset, through its HTTP API.
    from dailyml.clients.scheduler import SchedulerClient

    scheduler = SchedulerClient(stack.url("scheduler"), admin_token=ADMIN_TOKEN, timeout=300)
    # Under a request id of our own: the client sends it, the scheduler's run passes it on.
    request_id = f"fullstack-daily-{uuid.uuid4().hex[:8]}"
    with request_scope(request_id):
        runs = scheduler.trigger("daily", "wine")
    (run,) = runs.items
    assert run.status == "succeeded", run.error
    wine = predictor.history("wine", source="synthetic", limit=10)
    assert wine.total >= 1 and all(item.predicted is not None for item in wine.items)
    stack.daily_request_id = request_id
    stack.daily_counts = dict(run.counts)


def test_one_request_id_followed_through_three_services_logs(stack: Stack) -> None:
    """The daily run triggered above, followed by its request id through the scheduler's, the
    generator's and the predictor's JSON logs."""
    request_id = stack.daily_request_id
    assert request_id, "runs after test_daily_loop_end_to_end_over_http"
    found: dict[str, list[dict[str, object]]] = {}
    for name in ("scheduler", "generator", "predictor"):
        found[name] = wait_for_log_lines(stack.services[name].log, {request_id})[request_id]
        assert all(line["service"] == name for line in found[name])
    routes = {name: {line.get("route") for line in lines} for name, lines in found.items()}
    assert "/runs" in routes["scheduler"], found["scheduler"]
    assert any(line.get("job") == "daily" and line.get("status") == "succeeded" for line in found["scheduler"])
    assert "/wine/generate" in routes["generator"], found["generator"]
    assert "/wine/predict/pending" in routes["predictor"], found["predictor"]
    pending = next(line for line in found["predictor"] if line.get("route") == "/wine/predict/pending")
    assert pending["dataset"] == "wine" and pending["model_version"] == stack.daily_counts["model_version"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "request-id-lines.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for name in found for line in found[name])
    )


def test_metrics_of_the_three_services_after_the_daily_run(stack: Stack) -> None:
    counts = stack.daily_counts
    assert counts, "runs after test_daily_loop_end_to_end_over_http"
    scrapes = {name: Scrape.of(stack.url(name)) for name in ("scheduler", "generator", "predictor")}
    scheduler = scrapes["scheduler"]
    assert scheduler.value("dailyml_scheduler_runs_total", job="daily", dataset="wine", outcome="succeeded") == 1
    last = scheduler.value("dailyml_scheduler_last_success_timestamp_seconds", job="daily", dataset="wine")
    assert abs(last - time.time()) < 600
    assert scheduler.value("dailyml_http_requests_total", route="/runs", method="POST", status="200") == 1
    generator = scrapes["generator"]
    # 5 iris samples by the first part of the test (the replay not counted), the day's wines.
    assert generator.value("dailyml_generator_samples_generated_total", dataset="iris") == 5
    assert generator.value("dailyml_generator_samples_generated_total", dataset="wine") == counts["generated"]
    assert generator.value("dailyml_serving_version", dataset="wine", kind="synthesizer", alias="default") >= 1
    predictor = scrapes["predictor"]
    assert (
        predictor.value(
            "dailyml_predictions_total", dataset="wine", model_version=str(counts["model_version"]), source="pending"
        )
        == counts["predicted"]
    )
    assert (
        predictor.value("dailyml_serving_version", dataset="wine", kind="model", alias="champion")
        == counts["model_version"]
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    excerpt = [
        line
        for scrape in scrapes.values()
        for line in scrape.text.splitlines()
        if line.startswith(
            (
                "dailyml_scheduler_runs_total",
                "dailyml_scheduler_last_success",
                "dailyml_generator_samples_generated_total",
                "dailyml_jobs_total",
                "dailyml_serving_version{",
                "dailyml_predictions_total",
                "dailyml_prediction_log_",
                'dailyml_http_requests_total{method="POST"',
            )
        )
    ]
    (ARTIFACTS / "metrics-after-daily-run.txt").write_text("\n".join(excerpt) + "\n")


def current_champion(url: str) -> int | None:
    body = httpx.get(url + "/readyz", timeout=5).json()
    return body.get("models", {}).get("iris")  # type: ignore[no-any-return]


def test_champion_change_reaches_both_predictor_replicas(stack: Stack) -> None:
    replicas = [stack.url("predictor"), stack.url("predictor-2")]
    before = {current_champion(u) for u in replicas}
    assert len(before) == 1 and None not in before
    # A new version trained by the CLI against the same database (no shared disk: the artifact
    # goes into PostgreSQL), then promoted through one replica's API.
    result = subprocess.run(
        [sys.executable, "-m", "dailyml.cli", "train", "iris", "--fast"],
        env={"PATH": "/usr/bin:/bin", **stack.env["migrate"]},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    models = stack.predictor().models("iris")
    new = max(v.version for v in models.versions)
    assert new not in before
    promoted_at = time.monotonic()
    stack.predictor("predictor").promote("iris", new)
    seen: dict[str, float] = {}

    def all_switched() -> bool | NotYet:
        for url in replicas:
            if url not in seen and current_champion(url) == new:
                seen[url] = time.monotonic() - promoted_at
        return len(seen) == 2 or NotYet({u: current_champion(u) for u in replicas})

    wait_until(all_switched, 15, f"both replicas to serve v{new}", interval=0.05)
    sample = stack.predictor().random_sample("iris")
    for url in replicas:
        answer = PredictorClient(url).predict("iris", sample["features"])
        assert answer["model_version"] == new
    stack.timings["champion change: promoting replica"] = seen[replicas[0]]
    stack.timings["champion change: other replica"] = seen[replicas[1]]
    poll = float(stack.env["predictor"].get("DAILYML_MODEL_POLL_SECONDS", "2"))
    assert seen[replicas[1]] <= poll + 3


@pytest.mark.browser
def test_dashboard_and_gradio_load_in_a_real_browser(stack: Stack) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with open_page() as page:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(stack.url("dashboard") + "/?dataset=iris", wait_until="domcontentloaded")
        try:
            page.get_by_role("heading", name=f"{IRIS.title} · monitoring").wait_for(timeout=PAGE_TIMEOUT_MS)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "dashboard-failure.png"), full_page=True)
            raise
        page.get_by_text("Confusion matrix").first.wait_for(timeout=PAGE_TIMEOUT_MS)
        champion = current_champion(stack.url("predictor"))
        page.get_by_text(f"v{champion}", exact=True).first.wait_for(timeout=PAGE_TIMEOUT_MS)
        page.wait_for_timeout(2000)  # let the charts draw before the screenshot
        assert page.locator("[data-testid='stException']").count() == 0, "the dashboard shows an exception"
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

        page.goto(stack.url("gradio"), wait_until="domcontentloaded")
        page.locator("gradio-app").wait_for(timeout=PAGE_TIMEOUT_MS)
        # A prediction through the UI: Gradio -> predictor over HTTP, answered by the champion.
        page.get_by_role("button", name="Predict").first.click()
        page.locator("#iris-result").get_by_text(f"v{champion}").wait_for(timeout=PAGE_TIMEOUT_MS)
        page.screenshot(path=str(ARTIFACTS / "gradio.png"), full_page=True)
    assert not errors, errors


def mebibytes(quantity: str) -> float:
    units = {"Mi": 1.0, "Gi": 1024.0}
    return float(quantity[:-2]) * units[quantity[-2:]]


def test_memory_of_each_process_fits_its_kubernetes_request(stack: Stack) -> None:
    """Measured after the loop, against the requests in k8s/base (printed at the end of the run)."""
    over = []
    for name, service in stack.services.items():
        assert service.proc.poll() is None, f"{name} died:\n{service.log()[-3000:]}"
        rss = rss_mib(service.proc.pid)
        stack.timings[f"RSS MiB {name}"] = rss
        manifest = REPO / "k8s" / "base" / f"{name.split('-')[0]}.yaml"
        deployment = next(d for d in yaml.safe_load_all(manifest.read_text()) if d["kind"] == "Deployment")
        resources = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
        if rss > mebibytes(resources["requests"]["memory"]):
            over.append(f"{name}: {rss:.0f} MiB > request {resources['requests']['memory']}")
    assert not over, over

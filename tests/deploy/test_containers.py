"""The images built and the compose stack run for real, checked as an operator would.

Builds every image offline (scripts/images.sh --local-base: the wheelhouse of requirements.lock,
a Debian bookworm + Python 3.11 base and a PostgreSQL image made from Debian's packages), runs
``docker compose up`` with the shipped docker-compose.yml plus a test-only override that puts
every container on the host's network on free loopback ports, waits for every healthcheck, then:
both predict endpoints, a daily run through the scheduler, the dashboard and the Gradio app in
Chromium, ``docker compose restart predictor`` without losing a prediction, ``down`` and ``up``
with the data kept in the volume, every container's user not root, read-only root filesystems
(as the Kubernetes manifests have them), and the predictor image without torch or sdv.

Needs Debian's docker.io (``make test`` installs it as root and this module starts ``dockerd``);
skipped with a NOT RUN line otherwise, unless ``DAILYML_TEST_SKIP_CONTAINERS=1``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dailyml.datasets import IRIS as IRIS_SPEC
from tests.deploy.engine import Engine, docker_engine, why_unavailable
from tests.deploy.manifests import K8S, REPO, kustomize, write_env_file
from tests.support import clock, requirements
from tests.support.browser import PAGE_TIMEOUT_MS, open_page
from tests.support.credentials import ADMIN_TOKEN
from tests.support.examples import IRIS_OK as IRIS
from tests.support.examples import WINE_OK as WINE
from tests.support.net import free_port
from tests.support.waiting import NotYet, wait_until

# The first test builds and starts everything (cold: the wheelhouse, the base image, every image).
pytestmark = [pytest.mark.slow, pytest.mark.containers, pytest.mark.timeout(3600)]

ARTIFACTS = REPO / "test-artifacts" / "containers"
OVERRIDE = REPO / "tests" / "deploy" / "compose.host-network.yml"
SERVICES = ("predictor", "generator", "scheduler", "gradio", "dashboard")
HEALTH_PATHS = {
    "predictor": "/readyz",
    "generator": "/readyz",
    "scheduler": "/readyz",
    "gradio": "/",
    "dashboard": "/_stcore/health",
}


@dataclass
class Stack:
    engine: Engine
    project: str
    env_file: Path
    ports: dict[str, int]
    report: dict[str, Any] = field(default_factory=dict)

    def compose(self, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [
            self.engine.compose,
            "--project-name",
            self.project,
            "--project-directory",
            str(REPO),
            "-f",
            str(REPO / "docker-compose.yml"),
            "-f",
            str(OVERRIDE),
            "--env-file",
            str(self.env_file),
            *args,
        ]
        # A clean environment: the shell's variables must not leak into the interpolation.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.env_file.parent)}
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"compose {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
        return result

    def docker(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.engine.docker, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-4000:]}")
        return result

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def containers(self) -> dict[str, dict[str, Any]]:
        """``docker inspect`` of the project's containers (stopped ones too), by compose service."""
        ids = self.compose("ps", "--all", "--quiet").stdout.split()
        if not ids:
            return {}
        found = json.loads(self.docker("inspect", *ids).stdout)
        return {c["Config"]["Labels"]["com.docker.compose.service"]: c for c in found}

    def wait_healthy(self, timeout: float) -> float:
        """Until migrate has exited 0 and every other container is healthy; the seconds it took."""
        started = time.monotonic()

        def healthy() -> bool | NotYet:
            states = {}
            for name, c in self.containers().items():
                state = c["State"]
                if name == "migrate":
                    if state["Status"] == "exited" and state["ExitCode"] != 0:
                        raise AssertionError(f"migrate failed:\n{self.logs('migrate')}")
                    states[name] = "done" if state["Status"] == "exited" else state["Status"]
                elif state["Status"] in ("exited", "dead"):
                    raise AssertionError(f"{name} exited with {state['ExitCode']}:\n{self.logs(name)}")
                else:
                    states[name] = state.get("Health", {}).get("Status", state["Status"])
            expected = {"db", "migrate", *SERVICES}
            ok = set(states) == expected and all(s in ("healthy", "done") for s in states.values())
            return ok or NotYet(states)

        wait_until(healthy, timeout, "every container healthy", interval=2)
        return time.monotonic() - started

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", "--tail", "80", service, check=False).stdout[-6000:]

    def exec(self, service: str, *command: str) -> subprocess.CompletedProcess[str]:
        return self.compose("exec", "-T", service, *command, timeout=120, check=False)


def _image_sizes(stack: Stack) -> dict[str, str]:
    sizes = {}
    for name in (*SERVICES, "postgres"):
        image = "dailyml-local/postgres:15" if name == "postgres" else f"dailyml/{name}:0.1.0"
        size = int(stack.docker("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())
        sizes[image] = f"{size / 1e6:.0f} MB"
    return sizes


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    why = why_unavailable()
    requirements.require("containers", why is None, why or "")
    tmp_path = tmp_path_factory.mktemp("containers")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with docker_engine(tmp_path / "dockerd.log") as engine:
        report: dict[str, Any] = {"engine started by the test": engine.started_here}
        started = time.monotonic()
        build = subprocess.run(
            [str(REPO / "scripts" / "images.sh"), "--local-base"],
            env={**os.environ, "DOCKER": engine.docker},
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        assert build.returncode == 0, f"building the images failed:\n{build.stdout[-3000:]}\n{build.stderr[-6000:]}"
        report["build all images (s)"] = round(time.monotonic() - started, 1)
        report["build log"] = build.stderr.strip().splitlines()[-6:]

        ports = {name: free_port() for name in ("db", *SERVICES)}
        password = uuid.uuid4().hex
        env_file = write_env_file(
            tmp_path,
            DAILYML_ADMIN_TOKEN=ADMIN_TOKEN,
            POSTGRES_PASSWORD=password,
            POSTGRES_IMAGE="dailyml-local/postgres:15",
            DAILYML_DATABASE_URL=f"postgresql+psycopg://dailyml:{password}@127.0.0.1:{ports['db']}/dailyml",
            DAILYML_PREDICTOR_URL=f"http://127.0.0.1:{ports['predictor']}",
            DAILYML_GENERATOR_URL=f"http://127.0.0.1:{ports['generator']}",
            DAILYML_SCHEDULER_URL=f"http://127.0.0.1:{ports['scheduler']}",
            DAILYML_TRAIN_PROFILE="fast",
            # The test drives the daily run itself: crons that neither fire nor are caught up.
            DAILYML_SCHEDULER_DAILY_CRON=clock.daily_cron_fired(timedelta(hours=12)),
            DAILYML_SCHEDULER_RETRAIN_CRON=clock.yearly_cron_fired(timedelta(days=180)),
            DAILYML_SCHEDULER_TIMEZONE=str(clock.scheduler_timezone()),
            DAILYML_SCHEDULER_RUN_ON_FIRST_START="false",
            DAILYML_SCHEDULER_MISFIRE_GRACE_HOURS="0.001",
            DAILYML_RATE_LIMIT_PER_SECOND="0",
            # Predictions stay in the predictor's log queue until its shutdown flushes them: the
            # restart check then proves the flush (the batch size, 500, is not reached).
            DAILYML_LOG_FLUSH_SECONDS="60",
            **{f"TEST_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        )
        stack = Stack(engine, f"dailymltest{uuid.uuid4().hex[:8]}", env_file, ports, report)
        try:
            started = time.monotonic()
            stack.compose("up", "--detach", "--no-build", timeout=1800)
            stack.wait_healthy(900)
            report["first up until every container is healthy (s)"] = round(time.monotonic() - started, 1)
            yield stack
        finally:
            for name in ("db", "migrate", *SERVICES):
                (ARTIFACTS / f"{name}.log").write_text(stack.logs(name))
            stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "30", check=False)
            label = f"label=com.docker.compose.project={stack.project}"
            leftovers = stack.docker("ps", "-aq", "--filter", label)
            volumes = stack.docker("volume", "ls", "-q", "--filter", label)
            report["left over after down -v"] = (leftovers.stdout + volumes.stdout).split()
            report["image sizes"] = _image_sizes(stack)
            (ARTIFACTS / "report.json").write_text(json.dumps(report, indent=2))
            print("\ncontainers:", json.dumps(report, indent=2))
    assert not report["left over after down -v"], report["left over after down -v"]


def predict(stack: Stack, dataset: str, features: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{stack.url('predictor')}/{dataset}/predict", json=features, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def history_ids(stack: Stack, dataset: str) -> set[str]:
    ids: set[str] = set()
    offset = 0
    while True:
        response = httpx.get(
            f"{stack.url('predictor')}/{dataset}/history", params={"limit": 500, "offset": offset}, timeout=30
        )
        assert response.status_code == 200, response.text
        page = response.json()
        ids |= {item["id"] for item in page["items"]}
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return ids


def test_both_predict_endpoints_answer_with_the_champion(stack: Stack) -> None:
    iris = predict(stack, "iris", IRIS)
    assert iris["variety"] == "setosa" and iris["model_version"] >= 1
    wine = predict(stack, "wine", WINE)
    assert 3 <= wine["quality"] <= 9 and wine["model_version"] >= 1
    bad = httpx.post(f"{stack.url('predictor')}/iris/predict", json={**IRIS, "sepal_length": -1}, timeout=30)
    assert bad.status_code == 422 and "sepal_length" in bad.text
    stack.report["predict endpoints"] = {"iris": iris["variety"], "wine": wine["quality"]}


def test_a_daily_run_through_the_scheduler(stack: Stack) -> None:
    from dailyml.clients.scheduler import SchedulerClient

    scheduler = SchedulerClient(stack.url("scheduler"), admin_token=ADMIN_TOKEN, timeout=600)
    runs = scheduler.trigger("daily", "iris")
    (run,) = runs.items
    assert run.status == "succeeded", run.error
    assert run.counts["generated"] >= 1 and run.counts["predicted"] >= 1, run.counts
    history = httpx.get(f"{stack.url('predictor')}/iris/history", params={"source": "synthetic"}, timeout=30).json()
    assert history["total"] >= run.counts["generated"]
    assert all(item["actual"] is not None and item["predicted"] for item in history["items"])
    stack.report["daily run"] = dict(run.counts)


@pytest.mark.browser
def test_dashboard_and_gradio_in_chromium(stack: Stack) -> None:
    champion = httpx.get(stack.url("predictor") + "/readyz", timeout=10).json()["models"]["iris"]
    errors: list[str] = []
    with open_page() as page:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(stack.url("dashboard") + "/?dataset=iris", wait_until="domcontentloaded")
        try:
            page.get_by_role("heading", name=f"{IRIS_SPEC.title} · monitoring").wait_for(timeout=2 * PAGE_TIMEOUT_MS)
            page.get_by_text("Confusion matrix").first.wait_for(timeout=PAGE_TIMEOUT_MS)
            page.get_by_text(f"v{champion}", exact=True).first.wait_for(timeout=PAGE_TIMEOUT_MS)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "dashboard-failure.png"), full_page=True)
            raise
        assert page.locator("[data-testid='stException']").count() == 0, "the dashboard shows an exception"
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

        page.goto(stack.url("gradio"), wait_until="domcontentloaded")
        page.locator("gradio-app").wait_for(timeout=2 * PAGE_TIMEOUT_MS)
        # A prediction through the UI: Gradio -> predictor over HTTP, answered by the champion.
        page.get_by_role("button", name="Predict").first.click()
        try:
            page.locator("#iris-result").get_by_text(f"v{champion}").wait_for(timeout=2 * PAGE_TIMEOUT_MS)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "gradio-failure.png"), full_page=True)
            raise
        page.screenshot(path=str(ARTIFACTS / "gradio.png"), full_page=True)
    assert not errors, errors
    stack.report["browser"] = "dashboard and gradio loaded, a prediction through gradio"


def test_restarting_the_predictor_loses_no_prediction(stack: Stack) -> None:
    """Predictions are logged in the background: a restart (SIGTERM) must flush them first."""
    made = {predict(stack, "iris", {**IRIS, "sepal_length": 5.0 + i / 100})["prediction_id"] for i in range(40)}
    stack.report["restart predictor: predictions still queued when it was stopped"] = len(
        made - history_ids(stack, "iris")
    )
    started = time.monotonic()
    stack.compose("restart", "predictor", timeout=300)
    stack.wait_healthy(300)
    stack.report["restart predictor: healthy again (s)"] = round(time.monotonic() - started, 1)
    missing = made - history_ids(stack, "iris")
    assert not missing, f"{len(missing)} of {len(made)} predictions lost by the restart"


def test_down_and_up_keeps_the_data_in_the_volume(stack: Stack) -> None:
    before = {
        "iris": history_ids(stack, "iris"),
        "models": httpx.get(stack.url("predictor") + "/iris/models", timeout=30).json(),
    }
    assert before["iris"]
    started = time.monotonic()
    stack.compose("down", "--timeout", "30", timeout=300)
    assert not stack.containers(), "down removes the containers"
    stack.compose("up", "--detach", "--no-build", timeout=900)
    stack.wait_healthy(900)
    stack.report["down, then up until every container is healthy (s)"] = round(time.monotonic() - started, 1)
    assert history_ids(stack, "iris") >= before["iris"]
    after = httpx.get(stack.url("predictor") + "/iris/models", timeout=30).json()
    assert after == before["models"], "migrate on the second start only checks: same versions, same champion"
    assert predict(stack, "iris", IRIS)["model_version"] == after["champion"]


def _k8s_read_only() -> dict[str, bool]:
    """Which workloads k8s/base (rendered) runs with a read-only root filesystem."""
    found = {}
    for doc in kustomize(K8S / "base"):
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            (container,) = doc["spec"]["template"]["spec"]["containers"]
            name = {"postgres": "db"}.get(doc["metadata"]["name"], doc["metadata"]["name"])
            found[name] = container["securityContext"].get("readOnlyRootFilesystem", False)
    return found


def test_every_container_runs_as_non_root_on_a_read_only_root(stack: Stack) -> None:
    containers = stack.containers()
    read_only = _k8s_read_only()
    assert set(read_only) == set(containers), (set(read_only), set(containers))
    users = {}
    for name, c in containers.items():
        assert c["HostConfig"]["ReadonlyRootfs"] == read_only[name], name
        if name == "migrate":  # exited: what it ran as is its configuration
            users[name] = c["Config"]["User"]
            assert users[name].split(":")[0] not in ("", "0", "root"), users[name]
            continue
        uid = stack.exec(name, "id", "-u")
        assert uid.returncode == 0, uid.stderr
        users[name] = uid.stdout.strip()
        assert users[name] != "0", f"{name} runs as root"
        if read_only[name]:
            denied = stack.exec(name, "sh", "-c", "touch /usr/dailyml-write-test")
            assert denied.returncode != 0 and "Read-only file system" in denied.stderr, (name, denied.stderr)
            scratch = stack.exec(name, "sh", "-c", "touch /tmp/dailyml-write-test")
            assert scratch.returncode == 0, (name, scratch.stderr)
            if name != "db":
                home = stack.exec(name, "sh", "-c", 'touch "$DAILYML_HOME/dailyml-write-test"')
                assert home.returncode == 0, (name, home.stderr)
    stack.report["uids"] = users


def test_the_predictor_image_carries_no_torch_or_sdv(stack: Stack) -> None:
    probe = "import importlib.util as u; print(sorted(m for m in ('torch', 'sdv', 'fastapi') if u.find_spec(m)))"
    found = {}
    for image in ("predictor", "generator"):
        result = stack.docker("run", "--rm", "--network", "none", f"dailyml/{image}:0.1.0", "python", "-c", probe)
        found[image] = result.stdout.strip()
    assert found == {"predictor": "['fastapi']", "generator": "['fastapi', 'sdv', 'torch']"}, found

"""docker-compose.yml checked by the real Compose v2 binary (``config``), then by our own rules on
the model it resolves: dependency order, healthchecks, secrets without defaults, environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dailyml.supervisor import SERVICES
from tests.deploy.manifests import (
    BACKENDS,
    DEPLOYMENT_VALUES,
    FRONTENDS,
    REPO,
    code_variables,
    compose_model,
    consumers_of,
    image_targets,
    run_compose,
    write_env_file,
)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return compose_model(write_env_file(tmp_path_factory.mktemp("compose")))


def test_compose_config_is_valid_for_the_real_compose_binary(tmp_path: Path) -> None:
    result = run_compose(write_env_file(tmp_path), "config", "--quiet")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", ["DAILYML_ADMIN_TOKEN", "POSTGRES_PASSWORD"])
def test_compose_refuses_to_start_without_each_secret(tmp_path: Path, missing: str) -> None:
    result = run_compose(write_env_file(tmp_path, **{missing: ""}), "config", "--quiet")
    assert result.returncode != 0
    assert missing in result.stderr


def test_env_example_as_shipped_does_not_work_until_secrets_are_set(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text((REPO / ".env.example").read_text())
    result = run_compose(env_file, "config", "--quiet")
    assert result.returncode != 0 and "set" in result.stderr and "in .env" in result.stderr


def test_every_service_is_there_with_a_healthcheck(model: dict[str, Any]) -> None:
    """dailyml's probes are the images' HEALTHCHECKs (test_containers.py waits on them); compose
    sets their timing, from one anchor."""
    services = model["services"]
    assert set(services) == {"db", *BACKENDS, *FRONTENDS}
    for name, service in services.items():
        if name == "migrate":  # a one-off job: it exits, dependents wait for its success instead
            assert service["restart"] == "no" and service["healthcheck"]["disable"] is True
            continue
        assert service["restart"] == "unless-stopped", name
        check = service["healthcheck"]
        assert {"interval", "timeout", "retries", "start_period"} <= set(check), name
        assert ("test" in check) == (name == "db"), f"{name}: the probe comes from the image"


def test_database_is_postgres_with_a_named_volume_and_pg_isready(model: dict[str, Any]) -> None:
    db = model["services"]["db"]
    assert db["image"].split(":")[0] == "postgres" and db["image"].split(":")[1][:2] in ("15", "16")
    assert db["user"] == "999:999", "the official image's postgres user, as in k8s"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    volume = db["volumes"][0]
    assert volume["type"] == "volume" and volume["source"] in model["volumes"]
    assert volume["target"] == "/var/lib/postgresql/data"


def test_start_order_waits_for_health_and_for_the_migration(model: dict[str, Any]) -> None:
    services = model["services"]

    def waits(name: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in services[name].get("depends_on", {}).items()}

    assert waits("migrate") == {"db": "service_healthy"}
    for api in ("predictor", "generator"):
        assert waits(api) == {"db": "service_healthy", "migrate": "service_completed_successfully"}
    assert waits("scheduler")["migrate"] == "service_completed_successfully"
    assert waits("scheduler")["predictor"] == waits("scheduler")["generator"] == "service_healthy"
    for ui in FRONTENDS:
        assert waits(ui)["predictor"] == "service_healthy"


def test_migrate_bootstraps_with_the_predictor_image(model: dict[str, Any]) -> None:
    migrate = model["services"]["migrate"]
    assert migrate["command"] == ["dailyml", "bootstrap"]
    assert migrate["image"] == model["services"]["predictor"]["image"]


def test_each_service_builds_its_target_of_the_one_dockerfile_and_runs_its_command(model: dict[str, Any]) -> None:
    targets = image_targets()
    for name in SERVICES:
        service = model["services"][name]
        assert service["build"]["dockerfile"] == "Dockerfile" and Path(service["build"]["context"]) == REPO
        assert service["build"]["target"] == name and targets[f"dailyml/{name}"] == name
        assert service["image"] == f"dailyml/{name}:0.1.0"
        assert service.get("command") is None, f"{name}: the image's CMD is the command"
    assert model["services"]["migrate"]["build"]["target"] == "predictor"


def test_dailyml_containers_are_locked_down_like_the_pods(model: dict[str, Any]) -> None:
    """Read-only root, scratch space in tmpfs, no capabilities: k8s/base's securityContext."""
    for name in (*BACKENDS, *FRONTENDS, "db"):
        service = model["services"][name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert "/tmp" in service["tmpfs"], name
        if name != "db":
            assert "/var/lib/dailyml:uid=10001,gid=10001" in service["tmpfs"], name


def test_backends_share_postgres_and_the_database_artifact_store(model: dict[str, Any]) -> None:
    for name in BACKENDS:
        env = model["services"][name]["environment"]
        assert env["DAILYML_DATABASE_URL"] == "postgresql+psycopg://dailyml:deploy-test-pw-81b3@db:5432/dailyml"
        assert env["DAILYML_ARTIFACT_STORE"] == "database"
        assert env["DAILYML_ADMIN_TOKEN"] == "deploy-test-token-4f9a2c"


def test_no_volume_other_than_the_database_one(model: dict[str, Any]) -> None:
    """Several predictors share models through the registry in PostgreSQL, not through a disk."""
    for name, service in model["services"].items():
        if name != "db":
            assert not service.get("volumes"), f"{name} mounts {service.get('volumes')}"


def test_frontends_never_get_database_credentials(model: dict[str, Any]) -> None:
    for name in FRONTENDS:
        env = model["services"][name]["environment"]
        assert "DAILYML_DATABASE_URL" not in env
        assert not any("deploy-test-pw" in str(v) for v in env.values())


def test_every_variable_the_code_reads_reaches_the_processes_that_read_it(model: dict[str, Any]) -> None:
    missing = []
    for process, variables in consumers_of(code_variables()).items():
        env = model["services"][process]["environment"]
        missing += [f"{process}: {v}" for v in sorted(variables) if v not in env]
    assert not missing, "add to docker-compose.yml: " + ", ".join(missing)


def test_deployment_values_are_what_the_images_and_topology_need(model: dict[str, Any]) -> None:
    for name in BACKENDS:
        env = model["services"][name]["environment"]
        for var, value in DEPLOYMENT_VALUES.items():
            # None: not set by compose, the image's ENV applies (checked in the Dockerfile tests).
            assert env.get(var) in (value, None), f"{name}: {var}={env.get(var)}"
        assert env["DAILYML_PREDICTOR_URL"] == "http://predictor:8000"


def test_no_secret_value_is_written_in_the_compose_file() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    for line in text.splitlines():
        if "PASSWORD" in line or "TOKEN" in line:
            value = line.split(":", 1)[1].strip() if ":" in line else ""
            assert value == "" or value.startswith("${") or "$(" in value or "$$" in value or "://" in value, line

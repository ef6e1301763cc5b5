"""What each deployed process is given and where it listens: the UIs never get the admin token,
the APIs are published on 127.0.0.1 unless DAILYML_API_BIND says otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.deploy.manifests import (
    ARTIFACT_KEY_HOLDERS,
    BACKENDS,
    FRONTENDS,
    by_kind,
    compose_model,
    container_env,
    kustomize,
    overlay_copy,
    pod_spec,
    write_env_file,
)

APIS = {"predictor": 8000, "generator": 8001, "scheduler": 8002}
UIS = {"gradio": 7860, "dashboard": 8501}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return compose_model(write_env_file(tmp_path_factory.mktemp("surfaces")))


def _published(service: dict[str, Any]) -> list[tuple[str, int]]:
    return [(p.get("host_ip", "0.0.0.0"), int(p["published"])) for p in service.get("ports", [])]


def test_compose_uis_never_get_the_admin_token_but_the_read_token(model: dict[str, Any]) -> None:
    for name in FRONTENDS:
        env = model["services"][name]["environment"]
        assert "DAILYML_ADMIN_TOKEN" not in env, f"{name} gets the admin token"
        assert "DAILYML_READ_TOKEN" in env
    for name in BACKENDS:
        assert model["services"][name]["environment"]["DAILYML_ADMIN_TOKEN"] == "deploy-test-token-4f9a2c"


def test_compose_gives_the_artifact_key_to_the_artifact_writers_only(model: dict[str, Any]) -> None:
    holders = {name for name, svc in model["services"].items() if "DAILYML_ARTIFACT_KEY" in svc.get("environment", {})}
    assert holders == ARTIFACT_KEY_HOLDERS


def test_kubernetes_gives_the_artifact_key_to_the_artifact_writers_only(tmp_path: Path) -> None:
    docs = kustomize(overlay_copy(tmp_path))
    holders = set()
    for kind in ("Deployment", "Job"):
        for name, workload in by_kind(docs, kind).items():
            for container in pod_spec(workload)["containers"]:
                if "DAILYML_ARTIFACT_KEY" in container_env(docs, container):
                    holders.add(name)
    assert holders == ARTIFACT_KEY_HOLDERS


def test_compose_publishes_the_apis_on_loopback_only_by_default(model: dict[str, Any]) -> None:
    for name, port in APIS.items():
        assert _published(model["services"][name]) == [("127.0.0.1", port)], name
    for name, port in UIS.items():
        host_ip, published = _published(model["services"][name])[0]
        assert published == port and host_ip in ("", "0.0.0.0")


def test_one_variable_publishes_the_apis_on_every_interface(tmp_path: Path) -> None:
    model = compose_model(write_env_file(tmp_path, DAILYML_API_BIND="0.0.0.0"))
    for name, port in APIS.items():
        assert _published(model["services"][name]) == [("0.0.0.0", port)], name


def test_kubernetes_uis_never_get_the_admin_token(tmp_path: Path) -> None:
    docs = kustomize(overlay_copy(tmp_path))
    deployments = by_kind(docs, "Deployment")
    for name in FRONTENDS:
        (container,) = pod_spec(deployments[name])["containers"]
        env = container_env(docs, container)
        assert "DAILYML_ADMIN_TOKEN" not in env, f"{name} gets the admin token"
        assert "DAILYML_READ_TOKEN" in env
        text = str(container)
        assert "DAILYML_ADMIN_TOKEN" not in text and "admin endpoints" not in text
    for name in ("predictor", "generator", "scheduler"):
        (container,) = pod_spec(deployments[name])["containers"]
        env = container_env(docs, container)
        assert "DAILYML_ADMIN_TOKEN" in env and "DAILYML_READ_TOKEN" in env


def test_kubernetes_frontend_manifests_do_not_claim_to_call_admin_endpoints() -> None:
    root = Path(__file__).resolve().parents[2] / "k8s" / "base"
    for name in FRONTENDS:
        text = (root / f"{name}.yaml").read_text()
        assert "admin endpoints" not in text and "DAILYML_ADMIN_TOKEN" not in text


def test_compose_rate_limits_predictions_by_default(model: dict[str, Any]) -> None:
    env = model["services"]["predictor"]["environment"]
    assert float(env["DAILYML_RATE_LIMIT_PER_SECOND"]) > 0


def test_kubernetes_rate_limits_predictions_by_default(tmp_path: Path) -> None:
    docs = kustomize(overlay_copy(tmp_path))
    (container,) = pod_spec(by_kind(docs, "Deployment")["predictor"])["containers"]
    assert float(container_env(docs, container)["DAILYML_RATE_LIMIT_PER_SECOND"] or 0) > 0

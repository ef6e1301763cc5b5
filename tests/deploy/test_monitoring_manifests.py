"""Scraping on Kubernetes: the APIs' pods carry prometheus.io annotations in the base, and the
optional ``k8s/components/monitoring`` component adds a ServiceMonitor and the NetworkPolicy that
lets the monitoring namespace in, in an overlay that uses it (rendered by kubectl kustomize)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dailyml.supervisor import SERVICES
from tests.deploy.manifests import K8S, Peer, allowed, by_kind, kubectl, kustomize, overlay_copy

APIS = ("predictor", "generator", "scheduler")
COMPONENT = K8S / "components" / "monitoring"


def test_api_pods_are_annotated_for_scraping_on_their_port() -> None:
    deployments = by_kind(kustomize(K8S / "base"), "Deployment")
    for name in APIS:
        template = deployments[name]["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        port = int(annotations["prometheus.io/port"])
        assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/path"] == "/metrics"
        (container,) = template["spec"]["containers"]
        assert port == SERVICES[name].port
        assert port in {p["containerPort"] for p in container["ports"]}
    for name in ("gradio", "dashboard"):  # the UIs expose no /metrics (docs/operability.md)
        assert "prometheus.io/scrape" not in deployments[name]["spec"]["template"]["metadata"].get("annotations", {})


def test_the_component_is_not_in_the_base_or_the_example_overlay() -> None:
    """The ServiceMonitor needs the Prometheus Operator's CRD: opt-in only."""
    for folder in (K8S / "base", K8S / "overlays" / "example"):
        spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
        assert "components" not in spec
    spec = yaml.safe_load((COMPONENT / "kustomization.yaml").read_text())
    assert spec["kind"] == "Component"


@pytest.fixture(scope="module")
def with_monitoring(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    if kubectl() is None:
        pytest.skip("kubectl is not installed: components need the real kustomize")
    overlay: Path = overlay_copy(tmp_path_factory.mktemp("monitoring"))
    spec = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    spec["components"] = ["../../components/monitoring"]
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return kustomize(overlay)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "In"
        if labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


def test_service_monitor_selects_the_three_api_services_by_their_http_port(
    with_monitoring: list[dict[str, Any]],
) -> None:
    (monitor,) = by_kind(with_monitoring, "ServiceMonitor").values()
    assert monitor["metadata"]["namespace"] == "dailyml"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    selected = {
        name
        for name, service in by_kind(with_monitoring, "Service").items()
        if _selects(monitor["spec"]["selector"], service["metadata"].get("labels", {}))
    }
    assert selected == set(APIS)
    for name in APIS:
        ports = {p["name"] for p in by_kind(with_monitoring, "Service")[name]["spec"]["ports"]}
        assert endpoint["port"] in ports


def test_monitoring_namespace_may_scrape_the_apis_and_nothing_else(with_monitoring: list[dict[str, Any]]) -> None:
    policies = list(by_kind(with_monitoring, "NetworkPolicy").values())
    prometheus = Peer(
        {"app.kubernetes.io/name": "prometheus"}, {"kubernetes.io/metadata.name": "monitoring"}, "monitoring"
    )
    workloads = {**by_kind(with_monitoring, "Deployment"), **by_kind(with_monitoring, "StatefulSet")}
    for name, workload in workloads.items():
        target = Peer(workload["spec"]["template"]["metadata"]["labels"], namespace="dailyml")
        port = SERVICES[name].port if name in SERVICES else 5432
        assert allowed(policies, prometheus, target, port) == (name in APIS), name

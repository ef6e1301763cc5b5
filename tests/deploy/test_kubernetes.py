"""k8s/: rendered by ``kubectl kustomize`` (offline), validated against the Kubernetes JSON schemas
by ``kubernetes-validate --strict``, then checked by our own rules: probes, limits, non-root,
images, environment, one scheduler, no shared volume, and who may talk to whom."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dailyml.supervisor import SERVICES
from tests.deploy.manifests import (
    DEPLOYMENT_VALUES,
    FRONTENDS,
    K8S,
    SECRETS,
    Peer,
    allowed,
    by_kind,
    code_variables,
    consumers_of,
    container_env,
    image_targets,
    kubectl,
    kustomize,
    overlay_copy,
    pod_spec,
    render_overlay,
    same_as_default,
)

APIS = ("predictor", "generator", "scheduler")
Docs = list[dict[str, Any]]


@pytest.fixture(scope="module")
def base() -> Docs:
    return kustomize(K8S / "base")


@pytest.fixture(scope="module")
def overlay_rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Docs, str]:
    return render_overlay(tmp_path_factory.mktemp("overlay"))


@pytest.fixture(scope="module")
def overlay(overlay_rendered: tuple[Docs, str]) -> Docs:
    return overlay_rendered[0]


@pytest.fixture(params=["base", "overlay"])
def docs(request: pytest.FixtureRequest) -> Docs:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def validate(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "--quiet", path],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_kubernetes_validate_strict_accepts_base_overlay_and_secret_template(
    base: Docs, overlay_rendered: tuple[Docs, str], tmp_path: Path
) -> None:
    base_file = tmp_path / "base.yaml"
    base_file.write_text(yaml.safe_dump_all(base))
    for path in (str(base_file), overlay_rendered[1], str(K8S / "base" / "secret.template.yaml")):
        result = validate(path)
        assert result.returncode == 0, f"{path}:\n{result.stdout}\n{result.stderr}"


def test_kubernetes_validate_strict_catches_a_misspelt_field(tmp_path: Path) -> None:
    """The validator is not a rubber stamp: an unknown field fails under --strict."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80}], selectr: {a: b}}\n")
    assert validate(str(bad)).returncode != 0


def normalised(docs: Docs) -> dict[tuple[str, str], Any]:
    """Objects by kind and name, with kustomize's content hash taken off generated names."""
    text = re.sub(r"\b(dailyml-secrets)-[a-z0-9]{10}\b", r"\1", yaml.safe_dump_all(docs))
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text) if d}


@pytest.mark.skipif(kubectl() is None, reason="kubectl is not installed: nothing to compare the renderer with")
def test_our_renderer_matches_kubectl_kustomize(tmp_path: Path) -> None:
    """Machines without kubectl render k8s/ with tests/deploy/kustomize.py: it must agree."""
    from tests.deploy.kustomize import render

    for directory in (K8S / "base", overlay_copy(tmp_path)):
        assert normalised(render(directory)) == normalised(kustomize(directory)), directory


def workloads(docs: Docs) -> dict[str, dict[str, Any]]:
    return {**by_kind(docs, "Deployment"), **by_kind(docs, "StatefulSet"), **by_kind(docs, "Job")}


def test_everything_lives_in_the_dailyml_namespace(docs: Docs) -> None:
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "dailyml", f"{doc['kind']}/{doc['metadata']['name']}"


def test_a_deployment_per_service_with_probes_on_its_health_endpoints(docs: Docs) -> None:
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == set(SERVICES)
    for name, deployment in deployments.items():
        (container,) = pod_spec(deployment)["containers"]
        entry = SERVICES[name]
        ready = "/readyz" if name in APIS else entry.health_path
        live = "/healthz" if name in APIS else entry.health_path
        assert container["readinessProbe"]["httpGet"]["path"] == ready, name
        assert container["livenessProbe"]["httpGet"]["path"] == live, name
        assert container["args"] == ["dailyml", "serve", name, "--host", "0.0.0.0", "--port", str(entry.port)]
        assert container["ports"][0]["containerPort"] == entry.port


def test_every_container_has_requests_limits_and_runs_locked_down(docs: Docs) -> None:
    for name, workload in workloads(docs).items():
        spec = pod_spec(workload)
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] != 0, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), f"{name}: {kind}"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name


def test_writable_paths_are_private_emptydirs_no_volume_is_shared(docs: Docs) -> None:
    """Replicas share models through the registry in PostgreSQL; no pod mounts a shared volume."""
    for name, workload in {**by_kind(docs, "Deployment"), **by_kind(docs, "Job")}.items():
        spec = pod_spec(workload)
        for volume in spec.get("volumes", []):
            assert set(volume) == {"name", "emptyDir"}, f"{name} mounts {volume}"
        mounts = {m["mountPath"] for c in spec["containers"] for m in c.get("volumeMounts", [])}
        assert mounts == {"/var/lib/dailyml", "/tmp"}, f"{name}: {mounts}"


def test_images_are_the_ones_the_dockerfiles_build(base: Docs, overlay: Docs) -> None:
    built = set(image_targets())
    used = set()
    for name, workload in workloads(base).items():
        for container in pod_spec(workload)["containers"]:
            image, _, tag = container["image"].partition(":")
            if name == "postgres":
                assert image == "postgres" and tag[:2] in ("15", "16")
                continue
            assert image in built and tag == "0.1.0", container["image"]
            used.add(image)
    assert used == built, f"images built but never deployed: {built - used}"
    for workload in workloads(overlay).values():
        for container in pod_spec(workload)["containers"]:
            if not container["image"].startswith("postgres:"):
                assert re.fullmatch(r"registry\.example\.com/dailyml/\w+:0\.1\.0", container["image"])


def test_exactly_one_scheduler_replaced_not_rolled(docs: Docs) -> None:
    scheduler = by_kind(docs, "Deployment")["scheduler"]
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"] == {"type": "Recreate"}
    assert all(
        h["spec"]["scaleTargetRef"]["name"] != "scheduler" for h in by_kind(docs, "HorizontalPodAutoscaler").values()
    )


def test_predictor_scales_with_an_hpa_and_keeps_one_replica_in_disruptions(docs: Docs) -> None:
    (hpa,) = by_kind(docs, "HorizontalPodAutoscaler").values()
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "predictor"}
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    assert by_kind(docs, "PodDisruptionBudget")["predictor"]["spec"]["minAvailable"] == 1


def test_overlay_scales_and_sets_hosts(overlay: Docs) -> None:
    assert by_kind(overlay, "Deployment")["predictor"]["spec"]["replicas"] == 3
    assert by_kind(overlay, "HorizontalPodAutoscaler")["predictor"]["spec"]["minReplicas"] == 3
    ingress = by_kind(overlay, "Ingress")["dailyml"]["spec"]
    assert [r["host"] for r in ingress["rules"]] == ["try.ml.example.org", "dashboard.ml.example.org"]


def test_postgres_keeps_its_data_on_a_claim_and_migration_bootstraps(docs: Docs) -> None:
    postgres = by_kind(docs, "StatefulSet")["postgres"]
    assert postgres["spec"]["replicas"] == 1
    (claim,) = postgres["spec"]["volumeClaimTemplates"]
    (container,) = pod_spec(postgres)["containers"]
    assert {"name": claim["metadata"]["name"], "mountPath": "/var/lib/postgresql/data"} in container["volumeMounts"]
    assert "pg_isready" in " ".join(container["readinessProbe"]["exec"]["command"])
    job = by_kind(docs, "Job")["migrate"]
    (migrate,) = pod_spec(job)["containers"]
    assert migrate["args"] == ["dailyml", "bootstrap"]
    assert migrate["image"].rsplit("/", 1)[-1].startswith("predictor:")


def test_every_reference_resolves(overlay: Docs) -> None:
    """ConfigMaps, Secrets and their keys referenced by pods exist in the rendered overlay."""
    configmaps, secrets = by_kind(overlay, "ConfigMap"), by_kind(overlay, "Secret")
    for name, workload in workloads(overlay).items():
        for container in pod_spec(workload)["containers"]:
            for source in container.get("envFrom", []):
                ref = source.get("configMapRef") or source.get("secretRef")
                assert ref["name"] in (configmaps if "configMapRef" in source else secrets), f"{name}: {ref}"
            for item in container.get("env", []):
                ref = item.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    key = ref["secretKeyRef"]
                    assert key["key"] in secrets[key["name"]]["data"], f"{name}: {key}"
                if "configMapKeyRef" in ref:
                    key = ref["configMapKeyRef"]
                    assert key["key"] in configmaps[key["name"]]["data"], f"{name}: {key}"
    for service in by_kind(overlay, "Service").values():
        selector = service["spec"]["selector"]
        assert any(
            selector.items() <= w["spec"]["template"]["metadata"]["labels"].items() for w in workloads(overlay).values()
        ), f"Service {service['metadata']['name']} selects no pod"
    for rule in by_kind(overlay, "Ingress")["dailyml"]["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["name"] in FRONTENDS


def test_secret_template_has_exactly_the_keys_the_pods_use(overlay: Docs) -> None:
    template = yaml.safe_load((K8S / "base" / "secret.template.yaml").read_text())
    assert set(template["stringData"]) == SECRETS
    assert all(v == "" for v in template["stringData"].values()), "no working default"
    (generated,) = by_kind(overlay, "Secret").values()
    assert set(generated["data"]) == SECRETS


def image_env(name: str) -> dict[str, str]:
    """The ``ENV`` a service's image sets (its Dockerfile target and the stages below it)."""
    from tests.deploy.test_dockerfiles import chain

    env: dict[str, str] = {}
    for instruction in chain(name):
        if instruction.keyword == "ENV":
            env.update(re.findall(r"(\w+)=(\S+)", instruction.args))
    return env


def test_deployment_values_reach_the_pods_that_read_them(docs: Docs) -> None:
    """The values a deployment needs instead of the code's defaults, from the ConfigMap or the
    image; every other setting keeps the code's default unless an operator adds it."""
    variables = code_variables()
    deployments = {**by_kind(docs, "Deployment"), **by_kind(docs, "Job")}
    wrong = []
    for process, names in consumers_of(variables).items():
        (container,) = pod_spec(deployments[process])["containers"]
        env = {**image_env("predictor" if process == "migrate" else process), **container_env(docs, container)}
        for name in sorted(names & set(DEPLOYMENT_VALUES)):
            if name == "DAILYML_DATA_DIR" and process not in ("migrate", "predictor", "generator"):
                continue  # only the images that may bootstrap carry the reference data
            if env.get(name) != DEPLOYMENT_VALUES[name]:
                wrong.append(f"{process}: {name}={env.get(name)}")
        if "DAILYML_DATABASE_URL" in names:
            assert "DAILYML_DATABASE_URL" in env, process
    assert not wrong, wrong


def test_configmaps_carry_only_what_differs_from_the_code_defaults(base: Docs) -> None:
    variables = code_variables()
    for configmap in by_kind(base, "ConfigMap").values():
        for name, value in configmap["data"].items():
            if name.startswith("POSTGRES_"):
                continue
            assert name in variables, f"{name} in ConfigMap {configmap['metadata']['name']} is read by nothing"
            assert not all(same_as_default(v, value) for v in variables[name]), f"{name}={value} is the default"


def test_database_url_is_assembled_from_defined_variables(docs: Docs) -> None:
    """``$(VAR)`` that Kubernetes cannot resolve stays in the value literally: check each one."""
    for name, workload in workloads(docs).items():
        for container in pod_spec(workload)["containers"]:
            defined: set[str] = set(container_env(docs, container)) - {i["name"] for i in container.get("env", [])}
            for item in container.get("env", []):
                for ref in re.findall(r"\$\((\w+)\)", item.get("value", "")):
                    assert ref in defined, f"{name}: {item['name']} uses $({ref}) before it is defined"
                defined.add(item["name"])
            env = container_env(docs, container)
            if "DAILYML_DATABASE_URL" in env:
                assert str(env["DAILYML_DATABASE_URL"]).startswith(
                    "postgresql+psycopg://$(POSTGRES_USER):$(POSTGRES_PASSWORD)@"
                )


def test_frontends_get_no_database_credentials(docs: Docs) -> None:
    for name in FRONTENDS:
        (container,) = pod_spec(by_kind(docs, "Deployment")[name])["containers"]
        env = container_env(docs, container)
        assert "DAILYML_DATABASE_URL" not in env and "POSTGRES_PASSWORD" not in env


# -- NetworkPolicies ----------------------------------------------------------------------------------
def peers(docs: Docs) -> dict[str, Peer]:
    found = {n: Peer(w["spec"]["template"]["metadata"]["labels"]) for n, w in workloads(docs).items()}
    found["ingress-controller"] = Peer(
        {"app.kubernetes.io/name": "ingress-nginx"},
        {"kubernetes.io/metadata.name": "ingress-nginx"},
        namespace="ingress-nginx",
    )
    found["other-namespace"] = Peer({"app": "anything"}, {"kubernetes.io/metadata.name": "default"}, "default")
    return found


PORTS = {"postgres": 5432, **{name: entry.port for name, entry in SERVICES.items()}}
# target -> the sources that must reach it; every other source must be refused.
REACHABLE_FROM = {
    "postgres": {"migrate", "predictor", "generator", "scheduler"},
    "predictor": {"gradio", "dashboard", "scheduler"},
    "generator": {"gradio", "dashboard", "scheduler"},
    "scheduler": {"gradio", "dashboard"},
    "gradio": {"ingress-controller"},
    "dashboard": {"ingress-controller"},
}


def test_network_policies_allow_exactly_the_intended_connections(docs: Docs) -> None:
    policies = list(by_kind(docs, "NetworkPolicy").values())
    everyone = peers(docs)
    wrong = []
    for target, sources in REACHABLE_FROM.items():
        for source, peer in everyone.items():
            if source == target:
                continue
            ok = allowed(policies, peer, everyone[target], PORTS[target])
            if ok != (source in sources):
                wrong.append(f"{source} -> {target}: {'allowed' if ok else 'refused'}")
    assert not wrong, wrong


def test_network_policy_checker_sees_a_missing_default_deny(base: Docs) -> None:
    """Without the default deny, a pod no policy selects (the migrate job) accepts anyone."""
    policies = [p for p in by_kind(base, "NetworkPolicy").values() if p["metadata"]["name"] != "default-deny-ingress"]
    everyone = peers(base)
    assert allowed(policies, everyone["other-namespace"], everyone["migrate"], 8000)
    assert not allowed(
        list(by_kind(base, "NetworkPolicy").values()), everyone["other-namespace"], everyone["migrate"], 8000
    )

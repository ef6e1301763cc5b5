"""The one Dockerfile, read with our own rules (tests/deploy/test_containers.py builds and runs it):
a target per CLI service on one base, dependencies only from the wheelhouse at the lock's versions
and in layers of their own, non-root, a readiness HEALTHCHECK without curl, no secrets, the
predictor without torch/sdv; the lock agrees with pyproject.toml."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from dailyml.supervisor import SERVICES
from tests.deploy.manifests import DOCKERFILE, REPO, Instruction, dockerfile_instructions, exec_form, image_targets

INSTRUCTIONS = dockerfile_instructions(DOCKERFILE)
HEAVY = re.compile(r"\b(torch|sdv|ctgan|rdt|copulas|nvidia)\b", re.IGNORECASE)
SECRET_NAME = re.compile(r"(TOKEN|PASSWORD|SECRET|PASSWD|API_KEY|PRIVATE_KEY|DATABASE_URL)", re.IGNORECASE)


def stage(name: str) -> list[Instruction]:
    return [i for i in INSTRUCTIONS if i.stage_name == name]


def chain(name: str) -> list[Instruction]:
    """A stage's instructions after those of the stages it is built FROM (what the image has)."""
    own = stage(name)
    parent = own[0].args.split()[0]
    stages = {i.stage_name for i in INSTRUCTIONS}
    return [*(chain(parent) if parent in stages else []), *own]


def test_every_cli_service_is_a_target() -> None:
    assert sorted(image_targets()) == sorted(f"dailyml/{name}" for name in SERVICES)


def test_no_syntax_line_and_the_base_image_is_an_argument() -> None:
    """``# syntax=`` would make BuildKit pull a frontend image: builds without a registry fail."""
    assert not DOCKERFILE.read_text().startswith("# syntax"), "the built-in frontend has cache and bind mounts"
    args = [i.args for i in INSTRUCTIONS if i.keyword == "ARG" and i.stage == -1]
    assert args == ["BASE_IMAGE=python:3.11-slim-bookworm"]
    stages = {i.stage_name for i in INSTRUCTIONS}
    sources = [i.args.split()[0] for i in INSTRUCTIONS if i.keyword == "FROM"]
    assert [s for s in sources if s not in stages] == ["${BASE_IMAGE}"], "one external image: the base"


def test_pip_installs_only_from_the_wheelhouse_at_the_locked_versions() -> None:
    env = " ".join(i.args for i in stage("build") if i.keyword == "ENV")
    assert "PIP_NO_INDEX=1" in env and "PIP_FIND_LINKS=/wheelhouse" in env
    installs = [i for i in INSTRUCTIONS if i.keyword == "RUN" and "pip install" in i.args and "/dist/" not in i.args]
    assert installs
    for run in installs:
        assert "-c requirements.lock" in run.args, run.args
        assert "--index-url" not in run.args and "--extra-index-url" not in run.args, run.args
        assert "--mount=type=bind,source=wheelhouse,target=/wheelhouse" in run.args, run.args


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_are_installed_before_the_code_is_copied(name: str) -> None:
    """The virtualenv layers see the lock and their requirements file only: a code change (or a
    change to pyproject.toml other than the requirements) reuses them."""
    extra = "frontends" if name in ("gradio", "dashboard") else name
    venv = chain(f"venv-{extra}")
    copied = [i.args for i in venv if i.keyword == "COPY"]
    assert copied == ["requirements.lock ./", f"--from=requirements /requirements/{extra}.txt ./"], copied
    assert [i.args.split()[0] for i in stage("requirements") if i.keyword == "COPY"] == ["pyproject.toml"]
    (install,) = [i.args for i in stage(f"venv-{extra}") if i.keyword == "RUN"]
    assert f"-r {extra}.txt" in install


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_target_runs_its_service_as_non_root_with_a_readiness_healthcheck(name: str) -> None:
    entry = SERVICES[name]
    image = chain(name)
    users = [i.args for i in image if i.keyword == "USER"]
    assert users and users[-1] == "10001:10001", "a numeric uid, so that Kubernetes runAsNonRoot can verify it"
    env = " ".join(i.args for i in image if i.keyword == "ENV")
    assert "DAILYML_HOME=/var/lib/dailyml" in env
    assert any("chown 10001:10001 /var/lib/dailyml" in i.args for i in image if i.keyword == "RUN")
    (check,) = [i.args for i in image if i.keyword == "HEALTHCHECK"]
    probe = exec_form(check.split("CMD", 1)[1].strip())
    assert probe and probe[0] == "python", "a python one-liner: the slim image has no curl"
    assert "DAILYML_HEALTHCHECK_URL" in probe[-1]
    path = "/readyz" if name in ("predictor", "generator", "scheduler") else entry.health_path
    assert f"DAILYML_HEALTHCHECK_URL=http://127.0.0.1:{entry.port}{path}" in env
    cmd = exec_form(next(i.args for i in reversed(image) if i.keyword == "CMD"))
    assert cmd == ["dailyml", "serve", name, "--host", "0.0.0.0", "--port", str(entry.port)]
    assert [i.args for i in stage(name) if i.keyword == "EXPOSE"] == [str(entry.port)]
    assert not any(i.keyword == "RUN" for i in stage(name)), "the targets only copy: no pip, no compiler"


def test_no_secret_is_baked_in() -> None:
    for instruction in INSTRUCTIONS:
        if instruction.keyword in ("ENV", "ARG", "LABEL"):
            names = re.findall(r"(\w+)=", instruction.args) or [instruction.args.split()[0]]
            assert not [n for n in names if SECRET_NAME.search(n)], f"{instruction.keyword} {instruction.args}"
        if instruction.keyword in ("COPY", "ADD"):
            assert ".env" not in instruction.args.split(), "copies .env"
            assert instruction.args.split()[0] not in (".", "./"), "copies the whole context"
            assert "wheelhouse" not in instruction.args, "the wheelhouse is bind-mounted, never in a layer"


def test_dockerignore_is_an_allow_list_that_keeps_secrets_out() -> None:
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*", "everything is excluded unless allowed"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    expected = {"pyproject.toml", "requirements.lock", "README.md", "src", "services", "frontends", "data"}
    assert allowed <= expected | {"wheelhouse"}, allowed
    assert "**/.env" in rules


def _pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_predictor_target_never_installs_torch_or_sdv() -> None:
    image = chain("predictor")
    venv = {i.args.split("--from=")[1].split()[0] for i in image if i.keyword == "COPY" and "--from=" in i.args}
    assert venv == {"app-predictor"}
    for line in [i.args for i in chain("app-predictor") if i.keyword in ("RUN", "COPY")]:
        assert not HEAVY.search(line), line
        assert not re.search(r"(generator|scheduler|frontends)\.txt", line), line
    project = _pyproject()["project"]
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["predictor"]]:
        assert not HEAVY.search(requirement), f"the predictor image would install {requirement}"


def test_the_lock_pins_every_requirement_within_pyproject_and_torch_as_the_cpu_build() -> None:
    lock = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            lock[canonicalize_name(name)] = version
    project = _pyproject()["project"]
    requirements = [*project["dependencies"]]
    for items in project["optional-dependencies"].values():
        requirements += [r for r in items if not r.startswith("dailyml[")]
    for line in requirements:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{requirement.name} is not in requirements.lock: run scripts/lock.py"
        assert requirement.specifier.contains(lock[name], prereleases=True), f"{line} but the lock has {lock[name]}"
    assert lock["torch"].endswith("+cpu"), "the CPU build: the CUDA one is gigabytes"


@pytest.mark.parametrize("image", ["predictor", "generator"])
def test_images_that_bootstrap_carry_the_reference_data(image: str) -> None:
    target = stage(image)
    assert any(i.keyword == "COPY" and i.args.split()[-2:] == ["data", "/app/data"] for i in target)
    assert "DAILYML_DATA_DIR=/app/data" in " ".join(i.args for i in target if i.keyword == "ENV")


def test_wheel_holds_every_module_and_file_the_images_run(tmp_path: Path) -> None:
    """The images install the project as a wheel (not editable): everything must be inside."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    wheel = next(tmp_path.glob("dailyml-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for entry in SERVICES.values():
        module = entry.module.replace(".", "/") + ".py"
        if (REPO / module).exists():
            assert module in names, f"{module} is not in the wheel"
    assert "dailyml/migrations/env.py" in names and any(n.startswith("dailyml/migrations/versions/") for n in names)
    # Non-Python files the code ships (templates, CSS, Streamlit config) must be package data.
    for top in ("src/dailyml", "services", "frontends"):
        for path in (REPO / top).rglob("*"):
            # Not needed at run time: Alembic's template for new revisions, notes, the Dockerfiles.
            if path.is_file() and path.suffix not in (".py", ".pyc", ".mako", ".md"):
                rel = path.relative_to(REPO / "src" if top == "src/dailyml" else REPO).as_posix()
                if "__pycache__" in rel:
                    continue
                assert rel in names, f"{rel} is not in the wheel: add it to [tool.setuptools.package-data]"

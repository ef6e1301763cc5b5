"""Lint the Dockerfiles with our own rules (no Docker engine here): multi-stage, slim Python 3.11,
dependencies in a layer of their own, non-root, a HEALTHCHECK without curl, no secrets, the
predictor without torch/sdv, the generator with the CPU-only torch, the command of the CLI table."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from dailyml.cli import SERVICES
from tests.deploy.manifests import REPO, Instruction, dockerfile_instructions, dockerfiles, exec_form

IMAGES = dockerfiles()
HEAVY = re.compile(r"\b(torch|sdv|ctgan|rdt|copulas|nvidia)\b", re.IGNORECASE)
SECRET_NAME = re.compile(r"(TOKEN|PASSWORD|SECRET|PASSWD|API_KEY|PRIVATE_KEY|DATABASE_URL)", re.IGNORECASE)


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def test_every_cli_service_has_exactly_one_image() -> None:
    assert sorted(IMAGES) == sorted(f"dailyml/{name}" for name in SERVICES)


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dockerfile_is_multistage_slim_python311(image: str) -> None:
    instructions = dockerfile_instructions(IMAGES[image])
    froms = [i for i in instructions if i.keyword == "FROM"]
    assert len(froms) >= 2, "a build stage and a runtime stage"
    args = {
        i.args.split("=", 1)[0]: i.args.split("=", 1)[1] for i in instructions if i.keyword == "ARG" and i.stage == -1
    }
    for stage in froms:
        base = stage.args.split()[0]
        base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", base), f"{image}: base {base} is not a slim Python 3.11"
    runtime = final_stage(instructions)
    copies_from_build = [i for i in runtime if i.keyword == "COPY" and "--from=build" in i.args]
    assert copies_from_build, "the runtime stage takes the virtualenv from the build stage"
    assert not any(i.keyword == "RUN" and "pip install" in i.args for i in runtime), "no pip in the runtime stage"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dependencies_are_installed_before_the_code_is_copied(image: str) -> None:
    build = [i for i in dockerfile_instructions(IMAGES[image]) if i.stage == 0]
    position = {
        "pyproject": next(n for n, i in enumerate(build) if i.keyword == "COPY" and "pyproject.toml" in i.args),
        "deps": next(n for n, i in enumerate(build) if i.keyword == "RUN" and re.search(r'pip install "?\.\[', i.args)),
        "code": next(n for n, i in enumerate(build) if i.keyword == "COPY" and i.args.startswith("src ")),
    }
    assert position["pyproject"] < position["deps"] < position["code"], position


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_runtime_runs_as_non_root_with_a_writable_home(image: str) -> None:
    runtime = final_stage(dockerfile_instructions(IMAGES[image]))
    users = [i.args for i in runtime if i.keyword == "USER"]
    assert users, f"{image}: no USER in the runtime stage (it would run as root)"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"{image}: runs as {user}"
    assert user.isdigit(), "a numeric uid, so that Kubernetes runAsNonRoot can verify it"
    env = " ".join(i.args for i in runtime if i.keyword == "ENV")
    assert "DAILYML_HOME=/var/lib/dailyml" in env
    assert any("chown 10001:10001 /var/lib/dailyml" in i.args for i in runtime if i.keyword == "RUN")


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_healthcheck_and_command_match_the_cli_table(image: str) -> None:
    name = image.split("/")[1]
    entry = SERVICES[name]
    runtime = final_stage(dockerfile_instructions(IMAGES[image]))
    checks = [i.args for i in runtime if i.keyword == "HEALTHCHECK"]
    assert len(checks) == 1, f"{image}: one HEALTHCHECK"
    probe = exec_form(checks[0].split("CMD", 1)[1].strip())
    assert probe and probe[0] == "python", "a python one-liner: the slim image has no curl"
    assert f"http://127.0.0.1:{entry.port}{entry.health_path}" in probe[-1]
    cmd = exec_form(next(i.args for i in runtime if i.keyword == "CMD"))
    assert cmd == ["dailyml", "serve", name, "--host", "0.0.0.0", "--port", str(entry.port)]
    assert [i.args for i in runtime if i.keyword == "EXPOSE"] == [str(entry.port)]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_no_secret_is_baked_in(image: str) -> None:
    for instruction in dockerfile_instructions(IMAGES[image]):
        if instruction.keyword in ("ENV", "ARG", "LABEL"):
            names = re.findall(r"(\w+)=", instruction.args) or [instruction.args.split()[0]]
            assert not [n for n in names if SECRET_NAME.search(n)], f"{image}: {instruction.keyword} {instruction.args}"
        if instruction.keyword in ("COPY", "ADD"):
            assert ".env" not in instruction.args.split(), f"{image}: copies .env"
            assert instruction.args.split()[0] not in (".", "./"), f"{image}: copies the whole context"


def test_dockerignore_is_an_allow_list_that_keeps_secrets_out() -> None:
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*", "everything is excluded unless allowed"
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert allowed <= {"pyproject.toml", "README.md", "src", "services", "frontends", "data"}, allowed
    assert "**/.env" in rules


def _pyproject() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_predictor_image_never_installs_torch_or_sdv() -> None:
    instructions = dockerfile_instructions(IMAGES["dailyml/predictor"])
    installs = [i.args for i in instructions if i.keyword == "RUN" and "pip install" in i.args]
    assert installs
    for line in installs:
        assert not HEAVY.search(line), line
        for extra in re.findall(r"\.\[([\w,-]+)\]", line):
            assert extra.split(",") == ["predictor"], f"the predictor image installs the extras {extra}"
    project = _pyproject()["project"]
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["predictor"]]:
        assert not HEAVY.search(requirement), f"the predictor image would install {requirement}"


def test_generator_image_installs_the_cpu_torch_first() -> None:
    runs = [i.args for i in dockerfile_instructions(IMAGES["dailyml/generator"]) if i.keyword == "RUN"]
    torch_at = next(n for n, r in enumerate(runs) if "pip install torch" in r)
    extra_at = next(n for n, r in enumerate(runs) if '".[generator]"' in r)
    assert torch_at < extra_at
    assert "--index-url https://download.pytorch.org/whl/cpu" in runs[torch_at]
    pinned = next(r for r in _pyproject()["project"]["optional-dependencies"]["generator"] if r.startswith("torch"))
    assert pinned.replace(" ", "") in runs[torch_at].replace(" ", ""), f"the image and pyproject pin {pinned}"


@pytest.mark.parametrize("image", ["dailyml/predictor", "dailyml/generator"])
def test_images_that_bootstrap_carry_the_reference_data(image: str) -> None:
    runtime = final_stage(dockerfile_instructions(IMAGES[image]))
    assert any(i.keyword == "COPY" and i.args.split()[-2:] == ["data", "/app/data"] for i in runtime)
    assert "DAILYML_DATA_DIR=/app/data" in " ".join(i.args for i in runtime if i.keyword == "ENV")


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
            if path.is_file() and path.suffix not in (".py", ".pyc", ".mako", ".md") and path.name != "Dockerfile":
                rel = path.relative_to(REPO / "src" if top == "src/dailyml" else REPO).as_posix()
                if "__pycache__" in rel:
                    continue
                assert rel in names, f"{rel} is not in the wheel: add it to [tool.setuptools.package-data]"

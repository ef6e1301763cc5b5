"""The layers import downwards only: the core (src/dailyml) imports nothing of the services or the
frontends, a service imports no other service, and the frontends import neither the services nor
the database layer (they talk HTTP). Read off the source with ``ast``, so a lazy import inside a
function or an ``importlib.import_module("services...")`` string counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, including lazy imports and import_module("...") literals."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for module in sorted(imported_modules(path)):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    return bad


def test_the_core_imports_no_service_and_no_frontend() -> None:
    assert offenders("src/dailyml", ("services", "frontends", "tests")) == []


@pytest.mark.parametrize("service", ["predictor", "generator", "scheduler"])
def test_a_service_imports_no_other_service(service: str) -> None:
    others = tuple(f"services.{s}" for s in ("predictor", "generator", "scheduler") if s != service)
    assert offenders(f"services/{service}", (*others, "frontends", "tests")) == []


def test_the_frontends_use_http_only() -> None:
    forbidden = ("services", "tests", "dailyml.db", "dailyml.tables", "dailyml.featurestore", "sqlalchemy", "sqlmodel")
    assert offenders("frontends", forbidden) == []


def test_the_check_sees_lazy_and_dynamic_imports(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import importlib\n"
        "def f():\n"
        "    from services.scheduler.cli import add_run_command\n"
        "    return importlib.import_module('services.predictor.app')\n"
    )
    assert imported_modules(probe) >= {"services.scheduler.cli", "services.predictor.app"}


def module_path(module: str) -> Path | None:
    """The source file of a ``dailyml`` module (or package), None for any other module."""
    if module.split(".")[0] != "dailyml":
        return None
    base = ROOT / "src" / Path(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def reached_from(folder: str) -> dict[str, str]:
    """Every module the files of ``folder`` import, directly or through the dailyml modules they
    import (lazily too), each with the file that imports it."""
    reached: dict[str, str] = {}
    todo = sorted((ROOT / folder).rglob("*.py"))
    seen = set(todo)
    while todo:
        path = todo.pop()
        for module in sorted(imported_modules(path)):
            reached.setdefault(module, str(path.relative_to(ROOT)))
            found = module_path(module)
            if found is not None and found not in seen:
                seen.add(found)
                todo.append(found)
    return reached


def test_the_synthesizers_reach_no_storage_and_no_orchestration() -> None:
    # The algorithms and their fidelity are functions of data frames: no database, no registry,
    # no feature store, and nothing of the generation package that fits, registers and serves them.
    forbidden = (
        "dailyml.db",
        "dailyml.tables",
        "dailyml.registry",
        "dailyml.featurestore",
        "dailyml.generation",
        "sqlalchemy",
        "sqlmodel",
    )
    reached = reached_from("src/dailyml/synthesizers")
    bad = [
        f"{where} imports {module}"
        for module, where in sorted(reached.items())
        if any(module == f or module.startswith(f + ".") for f in forbidden)
    ]
    assert bad == []


def test_the_walk_follows_imports_through_dailyml_modules() -> None:
    # generation/fitting.py imports dailyml.featurestore, which imports the tables and sqlalchemy.
    reached = reached_from("src/dailyml/generation")
    assert {"dailyml.synthesizers.base", "dailyml.tables", "sqlalchemy"} <= set(reached)

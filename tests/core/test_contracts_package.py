"""``dailyml.contracts`` re-exports every public name its per-API modules define, and nothing else."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import dailyml.contracts

SUBMODULES = ("common", "predictor", "generator", "scheduler")


def _defined(submodule: str) -> set[str]:
    """The public names a contract module defines at its top level (not those it imports)."""
    tree = ast.parse((Path(dailyml.contracts.__file__).parent / f"{submodule}.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return {name for name in names if not name.startswith("_")}


@pytest.mark.parametrize("submodule", SUBMODULES)
def test_the_package_exports_every_public_name_of(submodule: str) -> None:
    names = _defined(submodule)
    missing = names - set(dailyml.contracts.__all__)
    assert not missing, f"add to dailyml/contracts/__init__.py: {sorted(missing)}"
    module = importlib.import_module(f"dailyml.contracts.{submodule}")
    assert all(getattr(dailyml.contracts, name) is getattr(module, name) for name in names)


def test_the_package_exports_nothing_else() -> None:
    defined = set().union(*map(_defined, SUBMODULES))
    assert sorted(dailyml.contracts.__all__) == sorted(defined)

"""Every public function of the core, and every public method of its public classes, has a docstring."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import dailyml

# Alembic's revisions and its environment script (which runs the migrations when imported).
EXCLUDED = ("dailyml.migrations.versions", "dailyml.migrations.env")


def _is_public(name: str) -> bool:
    return not name.startswith("_")


def _core_modules() -> Iterator[ModuleType]:
    yield dailyml
    for info in pkgutil.walk_packages(dailyml.__path__, "dailyml."):
        if info.name.startswith(EXCLUDED) or not all(map(_is_public, info.name.split("."))):
            continue
        yield importlib.import_module(info.name)


def _function(obj: Any) -> Any:
    """The plain function behind ``obj`` (a ``@cache`` wrapper, a static or class method), else None."""
    if isinstance(obj, staticmethod | classmethod):
        obj = obj.__func__
    obj = inspect.unwrap(obj) if callable(obj) else obj
    return obj if inspect.isfunction(obj) else None


def _undocumented(module: ModuleType) -> Iterator[str]:
    for name, obj in vars(module).items():
        if not _is_public(name) or getattr(obj, "__module__", None) != module.__name__:
            continue  # private, or imported from elsewhere (checked where it is defined)
        if _function(obj) is not None and not inspect.getdoc(obj):
            yield f"{module.__name__}.{name}"
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                # getdoc finds the docstring of the method it overrides, if that one has it.
                if _is_public(attr) and _function(value) is not None and not inspect.getdoc(getattr(obj, attr)):
                    yield f"{module.__name__}.{name}.{attr}"


def test_every_public_function_of_the_core_has_a_docstring() -> None:
    missing = [qualified for module in _core_modules() for qualified in _undocumented(module)]
    assert not missing, "public functions without a docstring:\n" + "\n".join(missing)


def test_the_check_reaches_every_module_and_names_what_lacks_a_docstring() -> None:
    # The check above can only fail if it sees the functions: it must import every module of the
    # package (subpackages included), see through @cache, and notice a missing docstring.
    from dailyml.contracts import prediction_model

    root = Path(dailyml.__file__).parent
    on_disk = {".".join(("dailyml", *p.relative_to(root).with_suffix("").parts)) for p in root.rglob("*.py")}
    expected = {name.removesuffix(".__init__") for name in on_disk if not name.startswith(EXCLUDED)}
    assert {m.__name__ for m in _core_modules()} == expected
    assert _function(prediction_model) is not None

    undocumented = ModuleType("fake")
    exec("def helper(): pass\nclass Thing:\n    def run(self): pass\n    def _hidden(self): pass", vars(undocumented))
    assert list(_undocumented(undocumented)) == ["fake.helper", "fake.Thing.run"]

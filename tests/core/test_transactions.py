"""One transaction style: every unit of work is a ``with transaction(engine)`` block
(``dailyml.db.transaction``), the only place that begins, commits or rolls back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from dailyml.db import transaction
from dailyml.tables import Job
from tests.support.databases import Database

ROOT = Path(__file__).resolve().parents[2]
HELPER = ROOT / "src" / "dailyml" / "db.py"
TRANSACTION_CALLS = {"begin", "commit", "rollback"}
DATASET = "transaction-test"


def transaction_calls(path: Path) -> list[str]:
    """The ``x.begin()``/``x.commit()``/``x.rollback()`` and ``Session(...)`` calls of ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        # Without arguments: the registry's rollback(dataset, ...) of an alias is not a transaction's.
        if (name in TRANSACTION_CALLS and not node.args and not node.keywords) or name == "Session":
            found.append(f"{path}:{node.lineno}: {name}")
    return found


@pytest.mark.parametrize("folder", ["src/dailyml", "services"])
def test_only_the_helper_begins_commits_or_rolls_back(folder: str) -> None:
    calls = [c for path in sorted((ROOT / folder).rglob("*.py")) if path != HELPER for c in transaction_calls(path)]
    assert not calls, "use `with transaction(engine)` (dailyml.db) instead:\n" + "\n".join(calls)


def test_the_check_sees_every_kind_of_boundary(tmp_path: Path) -> None:
    path = tmp_path / "unit.py"
    unit = ["with engine.begin() as conn:", "    s = Session(engine)", "    s.commit()", "    s.rollback()"]
    path.write_text("\n".join([*unit, "registry.rollback('iris')", ""]))
    assert [c.rsplit(": ", 1)[1] for c in transaction_calls(path)] == ["begin", "Session", "commit", "rollback"]


def _jobs(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        query = sa.select(Job.kind).where(Job.dataset == DATASET).order_by(Job.kind)
        return list(conn.execute(query).scalars())


def test_a_block_commits_orm_and_core_work_together(db: Database) -> None:
    with transaction(db.engine) as session:
        job = Job(kind="orm", dataset=DATASET)
        session.add(job)
        session.connection().execute(sa.insert(Job).values(id=Job().id, kind="core", dataset=DATASET, params={}))
    assert _jobs(db) == ["core", "orm"]
    assert job.kind == "orm" and job.id is not None  # readable after the block (expire_on_commit=False)


def test_an_error_rolls_back_everything_of_the_block(db: Database) -> None:
    with pytest.raises(RuntimeError), transaction(db.engine) as session:
        session.add(Job(kind="orm", dataset=DATASET))
        session.flush()
        session.connection().execute(sa.insert(Job).values(id=Job().id, kind="core", dataset=DATASET, params={}))
        raise RuntimeError("boom")
    assert _jobs(db) == []


def test_a_clash_at_commit_rolls_back_and_raises_integrity_error(db: Database) -> None:
    job = Job(kind="first", dataset=DATASET)
    with transaction(db.engine) as session:
        session.add(job)
    with pytest.raises(sa.exc.IntegrityError), transaction(db.engine) as session:
        session.add(Job(id=job.id, kind="twin", dataset=DATASET))
    with transaction(db.engine) as session:
        assert [j.kind for j in session.exec(select(Job).where(Job.dataset == DATASET))] == ["first"]

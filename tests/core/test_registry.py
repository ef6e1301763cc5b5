"""The registry: skops artifacts with trusted types from our code, checksums, promote and rollback."""

from __future__ import annotations

import pytest
import skops.io as sio
import sqlalchemy as sa

from dailyml.datasets import SPECS
from dailyml.errors import ArtifactIntegrityError, ConflictError
from dailyml.pipelines import Distilled, candidates, servable
from dailyml.registry import TRUSTED_TYPES, Registry
from dailyml.settings import PROJECT_ROOT
from dailyml.tables import Artifact
from dailyml.training import train


@pytest.mark.parametrize("name", sorted(SPECS))
def test_trusted_types_cover_every_candidate_pipeline(name: str) -> None:
    spec = SPECS[name]
    frame = spec.load_reference(PROJECT_ROOT / "data").head(400)
    y = frame["label"] if spec.task == "classification" else frame["label"].astype(int)
    for candidate in candidates(spec, "full"):
        model = candidate.build(0)
        if isinstance(model, Distilled):  # what is registered is the student: the fast one has its types
            model = next(c for c in candidates(spec, "fast") if c.name == candidate.name).build(0)
        else:
            # Same types, smaller ensembles: the test is about what is serialised, not accuracy.
            small = {k: 5 for k in ("n_estimators", "max_iter") if k in model[-1].get_params()}
            model[-1].set_params(**small)
        model = servable(model.fit(frame[spec.feature_names], y))
        untrusted = set(sio.get_untrusted_types(data=sio.dumps(model)))
        assert untrusted <= set(TRUSTED_TYPES), f"{candidate.name}: {untrusted - set(TRUSTED_TYPES)}"


def _register_another(db, name: str = "iris"):  # type: ignore[no-untyped-def]
    from dailyml.featurestore import training_frame

    registry = Registry.from_settings(db.engine, db.settings())
    spec = SPECS[name]
    result = train(spec, training_frame(db.engine, spec), seed=99, profile="fast")
    return registry, registry.register_model(result)


def test_bootstrap_registered_a_champion_with_its_metadata(db) -> None:  # type: ignore[no-untyped-def]
    registry = Registry.from_settings(db.engine, db.settings())
    for name in SPECS:
        champion = registry.aliased(name)
        assert champion is not None and champion.version == 1
        assert champion.artifact_format == "skops" and len(champion.artifact_sha256) == 64
        assert champion.data_hash and champion.feature_schema["features"]
        assert "holdout" in champion.metrics
        registry.load(champion)


def test_postgres_keeps_artifacts_in_the_database(db) -> None:  # type: ignore[no-untyped-def]
    registry = Registry.from_settings(db.engine, db.settings())
    uri = registry.aliased("iris").artifact_uri  # type: ignore[union-attr]
    assert uri.startswith("db://" if db.backend == "postgres" else "file://")


def test_promote_then_rollback_walks_back_through_history(db) -> None:  # type: ignore[no-untyped-def]
    registry, v2 = _register_another(db)
    _, v3 = _register_another(db)
    assert (v2.version, v3.version) == (2, 3)
    registry.promote("iris", 2)
    registry.promote("iris", 3)
    assert registry.aliased("iris").version == 3  # type: ignore[union-attr]
    assert registry.rollback("iris").version == 2
    assert registry.rollback("iris").version == 1
    with pytest.raises(ConflictError):
        registry.rollback("iris")
    assert registry.aliased("iris").version == 1  # type: ignore[union-attr]


def test_promoting_the_champion_again_changes_nothing(db) -> None:  # type: ignore[no-untyped-def]
    registry = Registry.from_settings(db.engine, db.settings())
    registry.promote("iris", 1)
    with pytest.raises(ConflictError):
        registry.rollback("iris")


def test_a_tampered_artifact_is_refused_before_loading(db) -> None:  # type: ignore[no-untyped-def]
    registry = Registry.from_settings(db.engine, db.settings())
    mv = registry.aliased("wine")
    assert mv is not None
    digest = mv.artifact_uri.split("://", 1)[1]
    if mv.artifact_uri.startswith("db://"):
        with db.engine.begin() as conn:
            table = Artifact.__table__  # type: ignore[attr-defined]
            data = conn.execute(sa.select(table.c.data).where(table.c.sha256 == digest)).scalar_one()
            conn.execute(table.update().where(table.c.sha256 == digest).values(data=bytes(data) + b"x"))
    else:
        path = db.home / "artifacts" / digest[:2] / digest
        path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ArtifactIntegrityError, match="refusing"):
        registry.load(mv)

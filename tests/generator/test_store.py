"""Fitting into the registry and generating into the feature store, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from dailyml.contracts.generator import GenerateOut
from dailyml.datasets import get_spec
from dailyml.errors import ArtifactIntegrityError
from dailyml.featurestore import samples_t
from dailyml.generation.fitting import DEFAULT, KIND, fit_and_register, load
from dailyml.generation.store import LoadedSynthesizer, generate, list_samples, stored_response
from dailyml.registry import Registry
from dailyml.tables import Artifact, GenerationRequest
from tests.generator.conftest import assert_rows_pass_the_api
from tests.support.databases import Database
from tests.support.generator import TEST_FIT

requests_t = GenerationRequest.__table__  # type: ignore[attr-defined]


def _fit(db: Database, dataset: str, algorithm: str = "empirical_copula", **kw):  # type: ignore[no-untyped-def]
    registry = Registry.from_settings(db.engine, db.settings())
    seen: list[float] = []
    result = fit_and_register(
        db.engine,
        registry,
        get_spec(dataset),
        algorithm,
        seed=42,
        settings=TEST_FIT,
        progress=lambda f, m: seen.append(f),
        **kw,
    )
    assert seen == sorted(seen) and seen[-1] <= 1.0
    return registry, result


def _loaded(registry: Registry, dataset: str) -> LoadedSynthesizer:
    mv = registry.aliased(dataset, KIND, DEFAULT)
    assert mv is not None
    return LoadedSynthesizer(dataset, mv.id or 0, mv.version, mv.algorithm, load(registry, mv))


def _synthetic_count(db: Database, dataset: str) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(samples_t)
                .where(samples_t.c.dataset == dataset, samples_t.c.source == "synthetic")
            ).scalar_one()
        )


def test_fit_registers_a_versioned_artifact_with_its_fidelity_report_and_becomes_default(db: Database) -> None:
    registry, result = _fit(db, "wine")
    assert result.became_default and result.default == result.version == 1
    mv = registry.aliased("wine", KIND, DEFAULT)
    assert mv is not None and mv.kind == "synthesizer" and mv.artifact_format == "cloudpickle"
    assert mv.params["algorithm"] == "empirical_copula" and mv.params["fitted_rows"] > 4000
    report = mv.metrics
    for key in ("quality", "column_shapes", "column_pair_trends", "diagnostic"):
        assert 0.5 < report[key] <= 1.0, key
    assert report["rows_scored"] == TEST_FIT.report_rows
    assert report["real_rows"] == 5320  # de-duplicated reference rows
    assert 0.0 <= report["invalid_share_before_resampling"] < 0.05
    assert report["invalid_rows_kept"] == 0 and report["copies_kept"] == 0
    assert set(report["label_distribution"]["ratio"]) <= set(get_spec("wine").labels)
    tstr = report["tstr"]
    assert tstr["metric"] == "mse" and tstr["train_on_real"] > 0 and tstr["train_on_synthetic"] > 0
    assert report["sample_1_ms"] > 0 and report["fit_seconds"] >= 0
    assert report["selection"]["became_default"] and report["selection"]["compared_with"] is None


def test_a_worse_candidate_is_registered_but_stays_out_of_the_default_role(db: Database) -> None:
    # One normal per variety is eligible on iris (its rows are no closer to the training rows than
    # the hold-out rows are); one copula for all varieties is measurably worse on quality and TSTR.
    registry, first = _fit(db, "iris", "multivariate_gaussian")
    _, second = _fit(db, "iris", "gaussian_copula")
    assert second.version == 2 and not second.became_default and second.default == 1
    worse = registry.get("iris", 2, KIND)
    assert worse.metrics["selection"]["compared_with"]["version"] == 1
    assert "does not beat" in worse.metrics["selection"]["reason"]
    assert worse.metrics["quality"] < registry.get("iris", 1, KIND).metrics["quality"]
    # promote="always" overrides the measurement.
    _, third = _fit(db, "iris", "gaussian_copula", promote="always")
    assert third.became_default and registry.alias_id("iris", KIND, DEFAULT) == registry.get("iris", 3, KIND).id


def test_a_tampered_artifact_is_refused(db: Database) -> None:
    registry, _ = _fit(db, "iris")
    mv = registry.aliased("iris", KIND, DEFAULT)
    assert mv is not None
    if mv.artifact_uri.startswith("file://"):
        path = registry.stores.default.root / mv.artifact_sha256[:2] / mv.artifact_sha256  # type: ignore[attr-defined]
        path.write_bytes(path.read_bytes() + b"x")
    else:
        with db.engine.begin() as conn:
            table = Artifact.__table__  # type: ignore[attr-defined]
            conn.execute(table.update().where(table.c.sha256 == mv.artifact_sha256).values(data=b"evil"))
    with pytest.raises(ArtifactIntegrityError):
        load(registry, mv)


def test_generation_stores_labelled_rows_and_a_repeated_key_stores_nothing_new(db: Database) -> None:
    registry, _ = _fit(db, "wine")
    loaded = _loaded(registry, "wine")
    spec = get_spec("wine")
    first = generate(db.engine, spec, loaded, 25, "day-1")
    assert first.replayed is False and first.n == 25 and first.synthesizer_version == 1
    assert all(isinstance(s["quality"], int) for s in first.samples)
    assert _synthetic_count(db, "wine") == 25

    again = generate(db.engine, spec, loaded, 25, "day-1")
    assert again.replayed is True
    assert again.samples == first.samples
    assert _synthetic_count(db, "wine") == 25

    total, items = list_samples(db.engine, spec, source="synthetic", limit=100, offset=0)
    assert total == 25
    assert {i["sample_id"] for i in items} == {uuid.UUID(s["sample_id"]) for s in first.samples}
    assert all(i["synthesizer_version"] == 1 and i["source"] == "synthetic" for i in items)
    by_id = {str(i["sample_id"]): i for i in items}
    for s in first.samples:
        assert by_id[s["sample_id"]]["quality"] == s["quality"]
        assert by_id[s["sample_id"]]["features"] == s["features"]
    with db.engine.connect() as conn:
        producers = set(
            conn.execute(sa.select(samples_t.c.producer_version_id).where(samples_t.c.source == "synthetic")).scalars()
        )
    assert producers == {loaded.version_id}
    import pandas as pd

    frame = pd.DataFrame([{**s["features"], "label": str(s["quality"])} for s in first.samples])
    assert_rows_pass_the_api(spec, frame)


def test_concurrent_requests_with_one_key_store_one_set_of_rows(db: Database) -> None:
    registry, _ = _fit(db, "iris")
    loaded = _loaded(registry, "iris")
    spec = get_spec("iris")
    barrier = threading.Barrier(4)
    answers: list[GenerateOut] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            answers.append(generate(db.engine, spec, loaded, 7, "race"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _synthetic_count(db, "iris") == 7
    stored = stored_response(db.engine, "iris", "race")
    assert stored is not None
    assert all(a.samples == stored.samples for a in answers)
    assert sum(not a.replayed for a in answers) == 1


def test_a_failed_write_leaves_no_partial_generation(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    registry, _ = _fit(db, "iris")
    loaded = _loaded(registry, "iris")

    def broken(conn, spec, rows, source):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr("dailyml.generation.store.insert_samples", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        generate(db.engine, get_spec("iris"), loaded, 3, "k")
    assert stored_response(db.engine, "iris", "k") is None
    assert _synthetic_count(db, "iris") == 0

"""Artifacts are signed with DAILYML_ARTIFACT_KEY (HMAC-SHA256, a key outside the database) and
checked before any byte is deserialised; a refused champion keeps the previous one serving,
/readyz says ``degraded`` with which version and why, and a promote to it answers 409.

The attacker of these tests can write the database and the artifact store, but does not hold
the key: they register rows and bytes with a registry that has no key (or another key).
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import pytest
import skops.io as sio
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sklearn.preprocessing import FunctionTransformer

from dailyml.artifacts import sha256_bytes
from dailyml.contracts import NewVersion
from dailyml.datasets import SPECS
from dailyml.errors import ArtifactIntegrityError, ArtifactSignatureError, UntrustedArtifactError
from dailyml.generation.fitting import KIND as SYNTH_KIND
from dailyml.generation.fitting import load as load_synthesizer
from dailyml.registry import Registry
from dailyml.settings import Settings
from dailyml.tables import ModelAlias, ModelVersion
from services.predictor.app import create_app
from tests.support.credentials import ADMIN_HEADERS, ADMIN_TOKEN, ARTIFACT_KEY
from tests.support.databases import Database
from tests.support.examples import IRIS_OK
from tests.support.waiting import wait_until

OTHER_KEY = "a-different-artifact-key-5b8e1d"


class _Boom:
    """Unpickling this writes a marker file: proof that bytes were (or were not) deserialised."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.write_text, (self.marker, "unpickled"))


def _registry(db: Database, key: str | None = ARTIFACT_KEY) -> Registry:
    return Registry.from_settings(db.engine, db.settings(artifact_key=key))


def _register(registry: Registry, payload: bytes, *, kind: str = "model", fmt: str = "skops") -> ModelVersion:
    champion = registry.aliased("iris")
    assert champion is not None
    forged = NewVersion.model_validate(champion).model_copy(update={"kind": kind, "algorithm": "forged", "params": {}})
    return registry.register(forged, payload, fmt)


def _champion_bytes(db: Database) -> bytes:
    registry = _registry(db)
    champion = registry.aliased("iris")
    assert champion is not None
    return registry.artifact(champion)


def _point_champion_at(db: Database, mv: ModelVersion) -> None:
    """What someone who can write the database does: move the alias without the API."""
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(ModelAlias)
            .where(ModelAlias.dataset == "iris", ModelAlias.kind == "model", ModelAlias.alias == "champion")
            .values(version_id=mv.id)
        )


# -- the registry ---------------------------------------------------------------------------------
def test_bootstrapped_versions_are_signed_and_load(db: Database) -> None:
    registry = _registry(db)
    for name in ("iris", "wine"):
        champion = registry.aliased(name)
        assert champion is not None and champion.artifact_signature and len(champion.artifact_signature) == 64
        registry.load(champion)


def test_a_version_registered_without_the_key_is_refused_before_unpickling(db: Database, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    payload = pickle.dumps(_Boom(marker))
    # The attacker writes rows and bytes (checksum right), but has no key: no signature.
    forged = _register(_registry(db, key=None), payload, kind=SYNTH_KIND, fmt="cloudpickle")
    assert forged.artifact_signature is None
    with pytest.raises(ArtifactSignatureError, match="not signed"):
        load_synthesizer(_registry(db), forged)
    assert not marker.exists(), "the bytes were deserialised before the signature was checked"


def test_a_signature_made_with_another_key_is_refused(db: Database, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    forged = _register(_registry(db, key=OTHER_KEY), pickle.dumps(_Boom(marker)), kind=SYNTH_KIND, fmt="cloudpickle")
    with pytest.raises(ArtifactSignatureError, match="DAILYML_ARTIFACT_KEY did not make"):
        load_synthesizer(_registry(db), forged)
    assert not marker.exists()


def test_a_signature_does_not_move_to_another_version_or_kind(db: Database) -> None:
    registry = _registry(db)
    genuine = _register(registry, _champion_bytes(db))
    registry.load(genuine)
    # Copy a valid signature onto another row: it signs (dataset, kind, version, format, sha256).
    with db.engine.begin() as conn:
        conn.execute(sa.update(ModelVersion).where(ModelVersion.id == genuine.id).values(version=99))
    moved = registry.get("iris", 99)
    with pytest.raises(ArtifactSignatureError):
        registry.load(moved)


def test_changed_bytes_are_refused_by_their_signed_checksum(db: Database) -> None:
    registry = _registry(db)
    mv = _register(registry, _champion_bytes(db))
    tampered = _champion_bytes(db) + b"\0"
    # The attacker replaces the bytes and the recorded checksum, but cannot re-sign.
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(ModelVersion).where(ModelVersion.id == mv.id).values(artifact_sha256=sha256_bytes(tampered))
        )
    with pytest.raises(ArtifactSignatureError):
        registry.load(registry.get_by_id(mv.id or 0))
    # Bytes changed under an intact row: the checksum refuses them.
    _overwrite_artifact(db, registry.get_by_id(mv.id or 0), tampered)
    with db.engine.begin() as conn:
        conn.execute(sa.update(ModelVersion).where(ModelVersion.id == mv.id).values(artifact_sha256=mv.artifact_sha256))
    with pytest.raises(ArtifactIntegrityError, match="refusing to load"):
        registry.load(registry.get_by_id(mv.id or 0))


def _overwrite_artifact(db: Database, mv: ModelVersion, data: bytes) -> None:
    digest = mv.artifact_uri.split("://", 1)[1]
    if mv.artifact_uri.startswith("file://"):
        (db.home / "artifacts" / digest[:2] / digest).write_bytes(data)
    else:
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE artifacts SET data = :d WHERE sha256 = :s"), {"d": data, "s": digest})


def test_an_untrusted_type_is_refused_even_when_signed(db: Database) -> None:
    # Defence in depth: a signed skops file that holds a function is still not loaded.
    payload = sio.dumps(FunctionTransformer(func=print))
    mv = _register(_registry(db), payload)
    with pytest.raises(UntrustedArtifactError, match="not trusted"):
        _registry(db).load(mv)


def test_sign_unsigned_signs_intact_artifacts_only(db: Database) -> None:
    keyless = _registry(db, key=None)
    intact = _register(keyless, _champion_bytes(db))
    broken = _register(keyless, _champion_bytes(db) + b"broken")
    _overwrite_artifact(db, broken, b"not what was registered")
    registry = _registry(db)
    assert [mv.id for mv in registry.sign_unsigned(dry_run=True)] == [intact.id]
    assert registry.get_by_id(intact.id or 0).artifact_signature is None  # dry run
    assert [mv.id for mv in registry.sign_unsigned()] == [intact.id]
    registry.load(registry.get_by_id(intact.id or 0))
    assert registry.get_by_id(broken.id or 0).artifact_signature is None
    # A new key: --all re-signs every (intact) version.
    rotated = _registry(db, key=OTHER_KEY)
    with pytest.raises(ArtifactSignatureError):
        rotated.load(registry.get_by_id(intact.id or 0))
    assert intact.id in {mv.id for mv in rotated.sign_unsigned(resign=True)}
    rotated.load(rotated.get_by_id(intact.id or 0))


def test_without_a_key_artifacts_are_unsigned_and_checked_by_checksum_only(db: Database) -> None:
    keyless = _registry(db, key=None)
    mv = _register(keyless, _champion_bytes(db))
    assert mv.artifact_signature is None and not keyless.signs
    keyless.load(mv)


def test_the_sign_artifacts_command(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from dailyml.cli import main
    from dailyml.settings import get_settings

    unsigned = _register(_registry(db, key=None), _champion_bytes(db))
    for name, value in db.env().items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        assert main(["sign-artifacts"]) == 0
    finally:
        get_settings.cache_clear()
    _registry(db).load(_registry(db).get_by_id(unsigned.id or 0))


# -- settings and `dailyml up` --------------------------------------------------------------------
@pytest.mark.parametrize("key", ["tiny-k3y", "changeme-changeme-changeme-1", "x" * 30])
def test_a_weak_artifact_key_is_refused_at_start_without_printing_it(key: str) -> None:
    with pytest.raises(ValueError, match="DAILYML_ARTIFACT_KEY") as info:
        Settings(artifact_key=key)  # type: ignore[arg-type]
    assert key not in str(info.value)


def test_the_artifact_key_must_differ_from_the_tokens() -> None:
    with pytest.raises(ValueError, match="must differ from the bearer tokens"):
        Settings(admin_token=ADMIN_TOKEN, artifact_key=ADMIN_TOKEN)  # type: ignore[arg-type]


def test_an_empty_artifact_key_means_unsigned() -> None:
    assert Settings(artifact_key="  ").artifact_signing_key is None  # type: ignore[arg-type]
    assert Settings(artifact_key=ARTIFACT_KEY).artifact_signing_key == ARTIFACT_KEY.encode()  # type: ignore[arg-type]


def test_up_generates_a_key_and_hands_it_to_the_predictor_and_generator_only(tmp_path: Path) -> None:
    from dailyml.supervisor import SERVICES, ensure_artifact_key, service_env

    env: dict[str, str] = {}
    key, created = ensure_artifact_key(env, tmp_path)
    assert created and len(key) >= 24 and env["DAILYML_ARTIFACT_KEY"] == key
    assert (tmp_path / "artifact-key").stat().st_mode & 0o777 == 0o600
    assert ensure_artifact_key({}, tmp_path) == (key, False)
    holders = {name for name in SERVICES if "DAILYML_ARTIFACT_KEY" in service_env(env, name)}
    assert holders == {"predictor", "generator"}


# -- the predictor: promote, readiness, serving ---------------------------------------------------
@pytest.fixture
def api(db: Database) -> Any:
    app = create_app(db.settings())
    with TestClient(app) as client:
        client.app_state = app.state  # type: ignore[attr-defined]
        yield client


def _iris_version(api: TestClient) -> int:
    response = api.post("/iris/predict", json=IRIS_OK)
    assert response.status_code == 200, response.text
    return int(response.json()["model_version"])


def test_promoting_a_version_that_cannot_be_loaded_answers_409_and_keeps_the_champion(
    db: Database, api: TestClient
) -> None:
    forged = _register(_registry(db, key=None), _champion_bytes(db))
    response = api.post(f"/iris/models/{forged.version}/promote", headers=ADMIN_HEADERS)
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"] == "artifact_rejected"
    assert f"version {forged.version} cannot be served" in body["message"] and "not signed" in body["message"]
    assert "champion is still version 1" in body["message"]
    assert api.get("/iris/models").json()["champion"] == 1
    assert api.get("/readyz").status_code == 200
    assert _iris_version(api) == 1
    # A signed version promotes as before.
    good = _register(_registry(db), _champion_bytes(db))
    assert api.post(f"/iris/models/{good.version}/promote", headers=ADMIN_HEADERS).status_code == 200
    assert _iris_version(api) == good.version


def test_rolling_back_to_a_version_that_cannot_be_loaded_answers_409(db: Database, api: TestClient) -> None:
    good = _register(_registry(db), _champion_bytes(db))
    assert api.post(f"/iris/models/{good.version}/promote", headers=ADMIN_HEADERS).status_code == 200
    with db.engine.begin() as conn:  # version 1's signature is wiped behind the API's back
        conn.execute(
            sa.update(ModelVersion)
            .where(ModelVersion.dataset == "iris", ModelVersion.kind == "model", ModelVersion.version == 1)
            .values(artifact_signature=None)
        )
    response = api.post("/iris/models/rollback", headers=ADMIN_HEADERS)
    assert response.status_code == 409 and response.json()["error"] == "artifact_rejected", response.text
    assert api.get("/iris/models").json()["champion"] == good.version


def test_a_refused_champion_keeps_the_old_one_serving_and_readyz_degraded(
    db: Database, api: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    forged = _register(_registry(db, key=OTHER_KEY), _champion_bytes(db))
    caplog.set_level(logging.ERROR, logger="dailyml.serving")
    _point_champion_at(db, forged)
    models = api.app_state.models  # type: ignore[attr-defined]
    models.wake()
    wait_until(lambda: api.get("/readyz").status_code == 503, 30, "/readyz to report the refused champion")
    ready = api.get("/readyz").json()
    assert ready["status"] == "degraded"
    assert ready["degraded_models"]["iris"]["version"] == forged.version
    assert ready["degraded_models"]["iris"]["refused"] is True
    assert "DAILYML_ARTIFACT_KEY did not make" in ready["degraded_models"]["iris"]["error"]
    assert ready["artifact_signing"] == "on" and "wine" not in ready["degraded_models"]
    assert _iris_version(api) == 1  # the last good champion keeps serving
    refusals = [r for r in caplog.records if "refused to load" in r.getMessage()]
    assert refusals and "still serving version 1" in refusals[0].getMessage()
    # Logged once, not at every poll.
    models.refresh()
    models.refresh()
    assert len([r for r in caplog.records if "refused to load" in r.getMessage()]) == 1
    # Pointing the alias back (or signing the version) heals it without a restart.
    champion_v1 = _registry(db).get("iris", 1)
    _point_champion_at(db, champion_v1)
    models.wake()
    wait_until(lambda: api.get("/readyz").status_code == 200, 30, "/readyz to recover")
    assert api.get("/readyz").json()["degraded_models"] == {}


# -- the generator: a refused default synthesizer -------------------------------------------------
@pytest.mark.slow  # fits a synthesizer per dataset
def test_a_refused_default_synthesizer_keeps_the_old_one_and_readyz_degraded(db: Database) -> None:
    from dailyml.generation.fitting import DEFAULT, fit_and_register
    from services.generator.app import create_app as create_generator
    from services.generator.config import GeneratorConfig
    from tests.support.generator import TEST_FIT

    registry = _registry(db)
    for name in ("iris", "wine"):
        fit_and_register(
            db.engine,
            registry,
            SPECS[name],
            "empirical_copula",
            seed=42,
            settings=TEST_FIT,
            promote="always",
            progress=lambda f, m: None,
        )
    good = registry.aliased("iris", SYNTH_KIND, DEFAULT)
    assert good is not None
    app = create_generator(db.settings(), GeneratorConfig(bootstrap=False))
    with TestClient(app) as client:
        wait_until(lambda: client.get("/readyz").status_code == 200, 60, "the generator to load its synthesizers")
        # Someone who can write the database registers bytes of their own and makes them default.
        forged = _register(_registry(db, key=None), registry.artifact(good), kind=SYNTH_KIND, fmt="cloudpickle")
        with db.engine.begin() as conn:
            conn.execute(
                sa.update(ModelAlias)
                .where(ModelAlias.dataset == "iris", ModelAlias.kind == SYNTH_KIND, ModelAlias.alias == DEFAULT)
                .values(version_id=forged.id)
            )
        app.state.synthesizers.wake()
        wait_until(lambda: client.get("/readyz").status_code == 503, 30, "/readyz to report the refused synthesizer")
        ready = client.get("/readyz").json()
        assert ready["status"] == "degraded" and ready["synthesizers"]["iris"] == good.version
        refused = ready["degraded_synthesizers"]["iris"]
        assert refused["version"] == forged.version and refused["refused"] and "not signed" in refused["error"]
        generated = client.post("/iris/generate", json={"n": 2}, headers=ADMIN_HEADERS)
        assert generated.status_code == 200 and generated.json()["synthesizer_version"] == good.version

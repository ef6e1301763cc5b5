"""The model registry: versions, metrics, checksummed artifacts and re-pointable aliases.

Models are stored with skops. Which types may be loaded is decided here, in code
(``TRUSTED_TYPES``), never read from the artifact. Before anything is deserialised, a version's
HMAC signature is checked (``dailyml.signing``, when ``DAILYML_ARTIFACT_KEY`` is set) and its
bytes against the sha256 the registry recorded (always).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, select

from dailyml.artifacts import ArtifactStores, sha256_bytes
from dailyml.contracts.common import NewVersion
from dailyml.db import transaction
from dailyml.errors import ArtifactIntegrityError, ConflictError, NotFoundError, UntrustedArtifactError
from dailyml.settings import Settings
from dailyml.signing import sign, verify
from dailyml.tables import AliasEvent, ModelAlias, ModelVersion, utcnow
from dailyml.training import TrainingResult

log = logging.getLogger("dailyml.registry")

CHAMPION = "champion"
MODEL_FORMAT = "skops"  # the artifact format of every kind='model' version
_VERSION_ATTEMPTS = 20  # registrations racing for a version number

# Types beyond skops' own defaults that our candidate pipelines contain (see pipelines.py).
# A test dumps every candidate and fails if this list no longer covers them.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.tree._tree.Tree",
)


def dump_model(estimator: Any) -> bytes:
    """A fitted scikit-learn estimator as skops bytes."""
    import skops.io as sio  # not at import time: skops discovers every scikit-learn type on import

    return cast(bytes, sio.dumps(estimator))


def load_model(data: bytes) -> Any:
    """skops bytes back into an estimator, allowing only skops defaults and ``TRUSTED_TYPES``
    (UntrustedArtifactError naming the other types)."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.loads(data, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException as exc:
        raise UntrustedArtifactError(f"the artifact holds types that are not trusted: {exc}") from None


def _is_version_clash(exc: IntegrityError) -> bool:
    """Whether the refusal was the version number's unique constraint (the only one worth a retry)."""
    message = str(exc.orig)
    return "uq_model_versions_version" in message or "model_versions.version" in message


@dataclass(frozen=True)
class AliasState:
    """Where an alias points now and where a rollback would take it."""

    current: ModelVersion | None
    previous: ModelVersion | None


def _signed_fields(mv: ModelVersion) -> dict[str, Any]:
    """What an artifact's signature covers: whose it is, which version, its format and its checksum."""
    # A mapping: the keyword arguments of ``sign`` and ``verify``.
    return {
        "dataset": mv.dataset,
        "kind": mv.kind,
        "version": mv.version,
        "artifact_format": mv.artifact_format,
        "sha256": mv.artifact_sha256,
    }


class Registry:
    """Versions and aliases in the database, artifact bytes in the configured store."""

    def __init__(self, engine: Engine, stores: ArtifactStores, signing_key: bytes | None = None) -> None:
        self.engine = engine
        self.stores = stores
        self.signing_key = signing_key

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> Registry:
        """The registry on ``engine`` with the artifact store and signing key the settings configure."""
        stores = ArtifactStores(engine, settings.artifact_dir, settings.resolved_artifact_store)
        return cls(engine, stores, settings.artifact_signing_key)

    @property
    def signs(self) -> bool:
        """Whether artifacts are signed and their signatures required (``DAILYML_ARTIFACT_KEY`` set)."""
        return self.signing_key is not None

    def _signature(self, fields: dict[str, Any], version: int) -> str | None:
        if self.signing_key is None:
            return None
        return sign(
            self.signing_key,
            dataset=fields["dataset"],
            kind=fields["kind"],
            version=version,
            artifact_format=fields["artifact_format"],
            sha256=fields["artifact_sha256"],
        )

    # -- writing -----------------------------------------------------------------------------
    def register(self, new: NewVersion, payload: bytes, artifact_format: str) -> ModelVersion:
        """Store ``payload`` (an artifact in ``artifact_format``) and record ``new`` as a new version
        (numbered per dataset and kind).

        The number is ``max + 1``; two registrations at once (two trainings, a training and a
        fit) may pick the same one: the unique constraint refuses the second, which takes the
        next number and tries again.
        """
        uri = self.stores.put(payload)
        fields = {
            **new.model_dump(),
            "artifact_sha256": sha256_bytes(payload),
            "artifact_format": artifact_format,
            "artifact_uri": uri,
            "artifact_size": len(payload),
        }
        for attempt in range(_VERSION_ATTEMPTS):
            try:
                return self._insert_next_version(fields)
            except IntegrityError as exc:
                if attempt == _VERSION_ATTEMPTS - 1 or not _is_version_clash(exc):
                    raise
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # noqa: S311 - jitter, not crypto
        raise AssertionError("unreachable")

    def _insert_next_version(self, fields: dict[str, Any]) -> ModelVersion:
        """Insert a version numbered ``max + 1`` of its dataset and kind (IntegrityError on a clash)."""
        with transaction(self.engine) as session:
            latest = session.exec(
                select(func.max(ModelVersion.version)).where(
                    ModelVersion.dataset == fields["dataset"], ModelVersion.kind == fields["kind"]
                )
            ).one()
            version = (latest or 0) + 1
            mv = ModelVersion(version=version, artifact_signature=self._signature(fields, version), **fields)
            session.add(mv)
            session.flush()
            session.refresh(mv)
            return mv

    def register_model(self, result: TrainingResult) -> ModelVersion:
        """Register a trained model (skops)."""
        return self.register(result.new_version, dump_model(result.estimator), MODEL_FORMAT)

    def record_evaluation(self, mv: ModelVersion, evaluation: dict[str, Any]) -> ModelVersion:
        """Store ``dailyml evaluate``'s figures on a version, under ``metrics["evaluation"]``."""
        with transaction(self.engine) as session:
            row = session.get(ModelVersion, mv.id)
            if row is None:
                raise NotFoundError(f"model version id {mv.id} does not exist")
            row.metrics = {**row.metrics, "evaluation": evaluation}
            session.add(row)
            session.flush()
            session.refresh(row)
            session.expunge(row)
            return row

    # -- reading -----------------------------------------------------------------------------
    def versions(self, dataset: str, kind: str = "model") -> list[ModelVersion]:
        """Every version of ``dataset``/``kind``, newest first."""
        with transaction(self.engine) as session:
            return list(
                session.exec(
                    select(ModelVersion)
                    .where(ModelVersion.dataset == dataset, ModelVersion.kind == kind)
                    .order_by(col(ModelVersion.version).desc())
                )
            )

    def get(self, dataset: str, version: int, kind: str = "model") -> ModelVersion:
        """Version ``version`` of the dataset's ``kind`` versions; NotFoundError when there is none."""
        with transaction(self.engine) as session:
            mv = session.exec(
                select(ModelVersion).where(
                    ModelVersion.dataset == dataset, ModelVersion.kind == kind, ModelVersion.version == version
                )
            ).first()
        if mv is None:
            raise NotFoundError(f"{dataset} has no {kind} version {version}")
        return mv

    def get_by_id(self, version_id: int) -> ModelVersion:
        """The registered version with database id ``version_id``; NotFoundError when there is none."""
        with transaction(self.engine) as session:
            mv = session.get(ModelVersion, version_id)
        if mv is None:
            raise NotFoundError(f"no registered version with id {version_id}")
        return mv

    def verify_signature(self, mv: ModelVersion) -> None:
        """ArtifactSignatureError unless ``mv`` carries the signature of the configured key (no-op
        without a key). Reads no artifact byte."""
        if self.signing_key is None:
            return
        verify(self.signing_key, mv.artifact_signature, **_signed_fields(mv))

    def artifact(self, mv: ModelVersion) -> bytes:
        """The verified artifact bytes of ``mv``: its signature first (ArtifactSignatureError), then
        the bytes against the signed sha256 (ArtifactIntegrityError). Nothing is deserialised here."""
        self.verify_signature(mv)
        return self.stores.get_verified(mv.artifact_uri, mv.artifact_sha256)

    def load(self, mv: ModelVersion) -> Any:
        """The estimator of a ``kind='model'`` version, verified then loaded with trusted types only."""
        if mv.artifact_format != MODEL_FORMAT:
            raise ConflictError(f"version {mv.version} is a {mv.artifact_format} artifact, not a skops model")
        return load_model(self.artifact(mv))

    def sign_unsigned(self, *, resign: bool = False, dry_run: bool = False) -> list[ModelVersion]:
        """Sign every version without a signature (all of them with ``resign``, after a key
        change) and return them. Each artifact's bytes are checked against its recorded sha256
        first: a corrupted artifact is left unsigned (and so refused), and logged.

        This trusts what the database holds now: run it once, when moving to signed artifacts or
        to a new key, not on a database someone else may have written.
        """
        if self.signing_key is None:
            raise ConflictError("DAILYML_ARTIFACT_KEY is not set: there is no key to sign with")
        with transaction(self.engine) as session:
            query = select(ModelVersion).order_by(col(ModelVersion.id))
            if not resign:
                query = query.where(col(ModelVersion.artifact_signature).is_(None))
            rows = list(session.exec(query))
        signed = []
        for mv in rows:
            try:
                self.stores.get_verified(mv.artifact_uri, mv.artifact_sha256)
            except (ArtifactIntegrityError, NotFoundError) as exc:
                log.error("not signing %s %s version %s: %s", mv.dataset, mv.kind, mv.version, exc)
                continue
            signature = sign(self.signing_key, **_signed_fields(mv))
            if not dry_run:
                with transaction(self.engine) as session:
                    row = session.get(ModelVersion, mv.id)
                    if row is not None:
                        row.artifact_signature = signature
                        session.add(row)
            signed.append(mv)
        return signed

    def check_signing(self) -> None:
        """Say at start what signing does here: off (a warning), or how many versions are unsigned
        and will be refused."""
        if self.signing_key is None:
            log.warning(
                "DAILYML_ARTIFACT_KEY is not set: new artifacts are stored unsigned and artifacts are "
                "loaded after their checksum only (someone who can write the database can replace them)"
            )
            return
        try:
            with transaction(self.engine) as session:
                unsigned = session.exec(
                    select(func.count()).select_from(ModelVersion).where(col(ModelVersion.artifact_signature).is_(None))
                ).one()
        except SQLAlchemyError as exc:  # the database is not up yet: the loads will say it
            log.warning("could not count unsigned artifacts: %s", exc)
            return
        if unsigned:
            log.warning(
                "%d registered version(s) are unsigned and will be refused; sign them once with "
                "`dailyml sign-artifacts` if this database is trusted",
                unsigned,
            )

    # -- aliases -----------------------------------------------------------------------------
    def alias_id(self, dataset: str, kind: str = "model", alias: str = CHAMPION) -> int | None:
        """The version id an alias points at (one cheap query: replicas poll this)."""
        with transaction(self.engine) as session:
            row = session.get(ModelAlias, (dataset, kind, alias))
            return row.version_id if row else None

    def aliased(self, dataset: str, kind: str = "model", alias: str = CHAMPION) -> ModelVersion | None:
        """The version ``alias`` names (the champion by default), or None when it names none."""
        version_id = self.alias_id(dataset, kind, alias)
        return None if version_id is None else self.get_by_id(version_id)

    def alias_state(self, dataset: str, kind: str = "model", alias: str = CHAMPION) -> AliasState:
        """The alias's current target and its rollback target, replayed from the event log."""
        stack = self._alias_stack(dataset, kind, alias)
        current = self.get_by_id(stack[-1]) if stack else None
        previous = self.get_by_id(stack[-2]) if len(stack) > 1 else None
        return AliasState(current, previous)

    def _alias_stack(self, dataset: str, kind: str, alias: str) -> list[int]:
        # Promotions push, rollbacks pop: repeated rollbacks walk back through history.
        with transaction(self.engine) as session:
            events = session.exec(
                select(AliasEvent)
                .where(AliasEvent.dataset == dataset, AliasEvent.kind == kind, AliasEvent.alias == alias)
                .order_by(col(AliasEvent.id))
            ).all()
        stack: list[int] = []
        for event in events:
            if event.action == "rollback":
                stack.pop()
            else:
                stack.append(event.to_version_id)
        return stack

    def _point(self, mv: ModelVersion, alias: str, action: str, reason: str) -> ModelVersion:
        with transaction(self.engine) as session:
            row = session.get(ModelAlias, (mv.dataset, mv.kind, alias), with_for_update=True)
            previous = row.version_id if row else None
            if row is None:
                row = ModelAlias(dataset=mv.dataset, kind=mv.kind, alias=alias, version_id=mv.id or 0)
            row.version_id = mv.id or 0
            row.updated_at = utcnow()
            session.add(row)
            session.add(
                AliasEvent(
                    dataset=mv.dataset,
                    kind=mv.kind,
                    alias=alias,
                    from_version_id=previous,
                    to_version_id=mv.id or 0,
                    action=action,
                    reason=reason[:256],
                )
            )
        return mv

    def promote(
        self, dataset: str, version: int, *, kind: str = "model", alias: str = CHAMPION, reason: str = ""
    ) -> ModelVersion:
        """Point ``alias`` at ``version``. Promoting the current target is a no-op."""
        mv = self.get(dataset, version, kind)
        if self.alias_id(dataset, kind, alias) == mv.id:
            return mv
        return self._point(mv, alias, "promote", reason or f"promote version {version}")

    def rollback(self, dataset: str, *, kind: str = "model", alias: str = CHAMPION, reason: str = "") -> ModelVersion:
        """Point ``alias`` back at the version it had before the current one."""
        state = self.alias_state(dataset, kind, alias)
        if state.previous is None:
            raise ConflictError(f"{dataset} {alias} has no earlier version to roll back to")
        return self._point(state.previous, alias, "rollback", reason or "rollback")

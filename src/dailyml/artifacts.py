"""Where artifact bytes live. Content-addressed by sha256, so a put is idempotent.

``db://<sha>`` keeps bytes in the ``artifacts`` table: replicas on different machines share
models through the database, with no shared disk (the default for PostgreSQL).
``file://<sha>`` keeps them under ``$DAILYML_HOME/artifacts`` (the embedded default).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import select

from dailyml.db import transaction
from dailyml.errors import ArtifactIntegrityError, NotFoundError
from dailyml.tables import Artifact


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


class ArtifactStore(Protocol):
    scheme: str

    def put(self, data: bytes) -> str:
        """Store ``data`` (once per content); the URI to read it back with."""
        ...

    def get(self, uri: str) -> bytes:
        """The bytes stored at ``uri``; NotFoundError when there are none."""
        ...


class DatabaseArtifactStore:
    """Artifacts as rows of the ``artifacts`` table."""

    scheme = "db"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, data: bytes) -> str:
        """Store ``data`` as an ``artifacts`` row keyed by its sha256 (once); its ``db://`` URI."""
        digest = sha256_bytes(data)
        with transaction(self.engine) as session:
            if session.get(Artifact, digest) is None:
                session.add(Artifact(sha256=digest, data=data, size=len(data)))
        return f"db://{digest}"

    def get(self, uri: str) -> bytes:
        """The bytes of the ``db://`` artifact ``uri``; NotFoundError when no row holds them."""
        digest = uri.removeprefix("db://")
        with transaction(self.engine) as session:
            row = session.exec(select(Artifact).where(Artifact.sha256 == digest)).first()
            if row is None:
                raise NotFoundError(f"artifact {uri} is not in the database")
            return bytes(row.data)


class LocalArtifactStore:
    """Artifacts as files ``<root>/<sha[:2]>/<sha>``, written atomically."""

    scheme = "file"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Write ``data`` to its content-addressed file (atomically, once); its ``file://`` URI."""
        digest = sha256_bytes(data)
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        return f"file://{digest}"

    def get(self, uri: str) -> bytes:
        """The bytes of the ``file://`` artifact ``uri``; NotFoundError when the file is missing."""
        path = self._path(uri.removeprefix("file://"))
        if not path.is_file():
            raise NotFoundError(f"artifact {uri} is not in {self.root}")
        return path.read_bytes()


class ArtifactStores:
    """Writes to the configured store; reads any URI by its scheme."""

    def __init__(self, engine: Engine, local_root: Path, default: str) -> None:
        self._stores: dict[str, ArtifactStore] = {
            "db": DatabaseArtifactStore(engine),
            "file": LocalArtifactStore(local_root),
        }
        self.default = self._stores["db" if default == "database" else "file"]

    def put(self, data: bytes) -> str:
        """Store ``data`` in the configured store; its URI."""
        return self.default.put(data)

    def get_verified(self, uri: str, expected_sha256: str) -> bytes:
        """The bytes at ``uri``, refused unless they hash to ``expected_sha256``."""
        scheme = uri.split("://", 1)[0]
        data = self._stores[scheme].get(uri)
        actual = sha256_bytes(data)
        if actual != expected_sha256:
            raise ArtifactIntegrityError(
                f"artifact {uri} has sha256 {actual}, the registry recorded {expected_sha256}: refusing to load"
            )
        return data

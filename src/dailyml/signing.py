"""HMAC-SHA256 signatures of registered artifacts, with a key that is not in the database.

The registry records each artifact's sha256 next to its bytes, so the checksum catches
corruption but not someone who can write the database (they would replace both). The signature
covers what a version *is*: dataset, kind, version number, format and the sha256 of the bytes,
keyed with ``DAILYML_ARTIFACT_KEY``, which only the processes that write or load artifacts hold
(predictor, generator, the bootstrap job). It is checked before any byte is deserialised.

A signature binds the version number, so an artifact cannot be moved to another version, dataset
or kind (a synthesizer's pickle presented as a model) without the key.
"""

from __future__ import annotations

import hashlib
import hmac

from dailyml.errors import ArtifactSignatureError

SIGNATURE_SCHEME = "hmac-sha256-v1"


def _message(dataset: str, kind: str, version: int, artifact_format: str, sha256: str) -> bytes:
    return "\n".join((SIGNATURE_SCHEME, dataset, kind, str(version), artifact_format, sha256)).encode()


def sign(key: bytes, *, dataset: str, kind: str, version: int, artifact_format: str, sha256: str) -> str:
    """The hex HMAC-SHA256 of a version's identity and artifact checksum."""
    return hmac.new(key, _message(dataset, kind, version, artifact_format, sha256), hashlib.sha256).hexdigest()


def verify(
    key: bytes,
    signature: str | None,
    *,
    dataset: str,
    kind: str,
    version: int,
    artifact_format: str,
    sha256: str,
) -> None:
    """Raise ArtifactSignatureError unless ``signature`` is the one ``key`` gives this version."""
    what = f"{dataset} {kind} version {version}"
    if not signature:
        raise ArtifactSignatureError(
            f"{what} is not signed: refusing to load it (sign the existing artifacts once with "
            "`dailyml sign-artifacts`)"
        )
    expected = sign(key, dataset=dataset, kind=kind, version=version, artifact_format=artifact_format, sha256=sha256)
    if not hmac.compare_digest(expected, signature):
        raise ArtifactSignatureError(
            f"{what} has a signature that DAILYML_ARTIFACT_KEY did not make: refusing to load it"
        )

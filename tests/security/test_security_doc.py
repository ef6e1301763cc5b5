"""SECURITY.md names every security setting and says what is not protected yet."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETTINGS = (
    "DAILYML_ADMIN_TOKEN",
    "DAILYML_READ_TOKEN",
    "DAILYML_PREDICT_REQUIRES_TOKEN",
    "DAILYML_MAX_BODY_BYTES",
    "DAILYML_RATE_LIMIT_PER_SECOND",
    "DAILYML_RATE_LIMIT_BURST",
    "DAILYML_CORS_ORIGINS",
    "DAILYML_API_BIND",
    "DAILYML_ARTIFACT_KEY",
)


def test_security_md_covers_every_setting_and_the_gaps() -> None:
    text = (REPO / "SECURITY.md").read_text()
    missing = [name for name in SETTINGS if name not in text]
    assert not missing, f"SECURITY.md does not mention {missing}"
    for section in ("## What is protected", "## What is not protected", "## Reporting a problem"):
        assert section in text
    assert "unpickled" in text and "sign-artifacts" in text
    assert "Artifacts are not signed" not in text

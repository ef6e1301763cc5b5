"""The secrets every test store and service shares: an admin token and an artifact signing key."""

from __future__ import annotations

ADMIN_TOKEN = "test-admin-token-0123456789"
# Every test database's artifacts are signed with this key (as a deployment's are).
ARTIFACT_KEY = "test-artifact-signing-key-7f3a9c"
# The headers of an admin request to any service.
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

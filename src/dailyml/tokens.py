"""Rules for the bearer tokens (``DAILYML_ADMIN_TOKEN``, ``DAILYML_READ_TOKEN``).

An empty value means "not set" (an unfilled ``secrets.env`` must disable admin, not protect it
with the empty string). A set token must be at least ``MIN_TOKEN_LENGTH`` characters and must
not be a known placeholder. Error messages name the variable, never the value.
"""

from __future__ import annotations

import secrets
from typing import Any

MIN_TOKEN_LENGTH = 24

# Placeholders from examples and tutorials; matched case-insensitively as substrings.
_PLACEHOLDER_PARTS = (
    "changeme",
    "change-me",
    "change_me",
    "replaceme",
    "replace-me",
    "replace_me",
    "placeholder",
    "your-admin-token",
    "your_admin_token",
    "your-token",
    "example",
    "password",
)
_SEQUENCES = ("0123456789" * 4, "abcdefghijklmnopqrstuvwxyz" * 2, "qwertyuiop" * 4)


def blank_to_none(value: Any) -> Any:
    """A pydantic ``before`` validator: an empty or blank token is no token."""
    if value is None:
        return None
    raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
    if isinstance(raw, str) and not raw.strip():
        return None
    return value


def token_problem(token: str) -> str | None:
    """Why ``token`` must not protect a deployment, or None when it is acceptable."""
    if len(token) < MIN_TOKEN_LENGTH:
        return f"is shorter than {MIN_TOKEN_LENGTH} characters"
    lowered = token.lower()
    if len(set(lowered)) <= 2 or any(part in lowered for part in _PLACEHOLDER_PARTS):
        return "is a well-known placeholder"
    if any(lowered in seq for seq in _SEQUENCES):
        return "is a well-known placeholder"
    return None


def check_token(variable: str, token: str | None) -> None:
    """Raise ValueError naming ``variable`` (not the value) when ``token`` is set but weak."""
    if token is None:
        return
    problem = token_problem(token)
    if problem:
        raise ValueError(
            f"{variable} {problem}; set a random secret of at least {MIN_TOKEN_LENGTH} characters "
            "(openssl rand -hex 32), or leave it empty to disable what it protects"
        )


def new_token() -> str:
    """A fresh random token: 32 URL-safe characters."""
    return secrets.token_urlsafe(24)

"""How the frontends reach the services: the typed HTTP clients, and errors as short messages.

The generator and scheduler clients are imported when first needed and may be missing (a build
without those services); the apps then show that the service is not available instead of failing.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

from dailyml.clients import PredictorClient, ServiceClient, ServiceError, ServiceUnavailable
from dailyml.datasets import SPECS

# Short timeouts: a UI that waits 30 s for a dead service looks broken; a message does not.
UI_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class ServiceUrls:
    """Where the three services answer (``DAILYML_PREDICTOR_URL`` and friends)."""

    predictor: str
    generator: str
    scheduler: str

    @classmethod
    def from_env(cls) -> ServiceUrls:
        from dailyml.settings import Settings

        settings = Settings()
        return cls(settings.predictor_url, settings.generator_url, settings.scheduler_url)


class ClientMissing(ServiceError):
    """The client module of a service is not installed in this build."""

    def __init__(self, service: str) -> None:
        super().__init__(0, "client_missing", f"the {service} client is not installed in this build")


def read_token() -> str | None:
    """``DAILYML_READ_TOKEN``, which the UIs send on every call (they are the legitimate readers).

    The UIs never have the admin token: they call no admin endpoint.
    """
    from dailyml.settings import Settings

    token = Settings().read_token
    return token.get_secret_value() if token else None


def predictor_client(url: str, timeout: float = UI_TIMEOUT_SECONDS) -> PredictorClient:
    return PredictorClient(url, read_token=read_token(), timeout=timeout)


def _optional_client(module: str, name: str, url: str, timeout: float) -> ServiceClient | None:
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return cls(url, read_token=read_token(), timeout=timeout)  # type: ignore[no-any-return]


def generator_client(url: str, timeout: float = UI_TIMEOUT_SECONDS) -> ServiceClient | None:
    """A ``GeneratorClient``, or None when this build has no generator client."""
    return _optional_client("dailyml.clients.generator", "GeneratorClient", url, timeout)


def scheduler_client(url: str, timeout: float = UI_TIMEOUT_SECONDS) -> ServiceClient | None:
    """A ``SchedulerClient``, or None when this build has no scheduler client."""
    return _optional_client("dailyml.clients.scheduler", "SchedulerClient", url, timeout)


def _field_title(dataset: str | None, field: str) -> str:
    spec = SPECS.get(dataset or "")
    if spec is None:
        return field
    try:
        feature = spec.feature(field)
    except KeyError:
        return field
    return feature.description


def error_message(exc: Exception, service: str, dataset: str | None = None) -> str:
    """One or two short sentences for a user: what went wrong and what to do. Never a traceback."""
    if isinstance(exc, ClientMissing):
        return f"The {service} is not available in this installation."
    if isinstance(exc, ServiceUnavailable):
        return f"The {service} service is not reachable ({exc.message.removeprefix('cannot reach ')}). Is it running?"
    if isinstance(exc, ServiceError):
        if exc.status == 422 and isinstance(exc.detail, list) and exc.detail:
            problems = []
            for item in exc.detail[:4]:
                if isinstance(item, dict):
                    rule = re.sub(r"^Input should be ", "must be ", str(item.get("message", "is invalid")))
                    problems.append(f"{_field_title(dataset, str(item.get('field', '')))} {rule}")
            if problems:
                return "Please check the input: " + "; ".join(problems) + "."
        if exc.status == 503:
            return f"The {service} is not ready yet ({exc.message}). Try again in a moment."
        return f"The {service} answered {exc.status}: {exc.message}"
    return f"Unexpected problem talking to the {service}: {type(exc).__name__}"

"""What the dashboard asks the services, cached briefly.

Every call goes over HTTP through the typed clients and asks for aggregates or one page: the
dashboard costs the same with a hundred predictions as with a million. Each answer is a
``Fetched``: the JSON-ready value, or a short message saying why there is none (the service is
down, not installed, or answered an error). Failures are cached too, for the same few seconds, so
a dead service is not asked again on every rerun.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from dailyml.clients import ServiceClient, ServiceError
from frontends.common.services import (
    ClientMissing,
    error_message,
    generator_client,
    predictor_client,
    scheduler_client,
)

CACHE_SECONDS = 5.0  # pages and lists: cheap to ask again
# Aggregates scan every labelled prediction; on a big store they cost seconds, so a dashboard
# open in several browsers asks for them at most twice a minute.
AGGREGATE_CACHE_SECONDS = 30.0
# Generous: an aggregate over a million predictions can take seconds on a busy SQLite store, and a
# timeout would only replace a slow answer by no answer. A service that is down fails at once.
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Fetched:
    """An answer (``value``) or the reason there is none (``error``)."""

    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _plain(value: Any) -> Any:
    """Pydantic models as JSON-ready dicts, so answers cache and display the same whatever the
    client returns."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@st.cache_resource(show_spinner=False)
def _client(service: str, url: str) -> ServiceClient | None:
    if service == "predictor":
        return predictor_client(url, timeout=TIMEOUT_SECONDS)
    if service == "generator":
        return generator_client(url, timeout=TIMEOUT_SECONDS)
    return scheduler_client(url, timeout=TIMEOUT_SECONDS)


def _ask(service: str, url: str, method: str, about: str | None, *args: Any, **kwargs: Any) -> Fetched:
    """Call ``client.method(*args, **kwargs)``; ``about`` is the dataset named in error messages."""
    client = _client(service, url)
    try:
        if client is None:
            raise ClientMissing(service)
        return Fetched(_plain(getattr(client, method)(*args, **kwargs)))
    except ServiceError as exc:
        return Fetched(error=error_message(exc, service, about))


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def history(url: str, dataset: str, limit: int, offset: int, source: str | None = None) -> Fetched:
    return _ask("predictor", url, "history", dataset, dataset, limit=limit, offset=offset, source=source)


@st.cache_data(ttl=AGGREGATE_CACHE_SECONDS, show_spinner=False)
def confusion_matrix(url: str, dataset: str) -> Fetched:
    return _ask("predictor", url, "confusion_matrix", dataset, dataset)


@st.cache_data(ttl=AGGREGATE_CACHE_SECONDS, show_spinner=False)
def metrics(url: str, dataset: str, bucket: str) -> Fetched:
    return _ask("predictor", url, "metrics", dataset, dataset, bucket=bucket)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def models(url: str, dataset: str) -> Fetched:
    return _ask("predictor", url, "models", dataset, dataset)


@st.cache_data(ttl=60.0, show_spinner=False)
def spec(url: str, dataset: str) -> Fetched:
    return _ask("predictor", url, "spec", dataset, dataset)


@st.cache_data(ttl=AGGREGATE_CACHE_SECONDS, show_spinner=False)
def distributions(url: str, dataset: str, bins: int = 20) -> Fetched:
    return _ask("generator", url, "distributions", dataset, dataset, bins=bins)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def synthesizers(url: str, dataset: str) -> Fetched:
    return _ask("generator", url, "synthesizers", dataset, dataset)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def runs(url: str, dataset: str, limit: int = 10) -> Fetched:
    return _ask("scheduler", url, "runs", dataset, dataset=dataset, limit=limit)


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def schedule(url: str) -> Fetched:
    return _ask("scheduler", url, "schedule", None)

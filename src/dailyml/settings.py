"""Settings read from the environment (prefix ``DAILYML_``), validated once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dailyml.tokens import blank_to_none, check_token
from dailyml.vocab import TrainProfile

PROJECT_ROOT = Path(__file__).resolve().parents[2]

LogMode = Literal["async", "sync"]
WhenFull = Literal["refuse", "drop_oldest"]


def comma_separated(value: Any) -> Any:
    """A pydantic ``before`` validator: ``"a, b,,c"`` -> ``["a", "b", "c"]`` (lists pass through)."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    return value


# The one table of default ports: where each process listens unless told otherwise (``dailyml up``,
# ``dailyml serve``, the services' own ``main``), and so where the services find each other.
DEFAULT_PORTS: dict[str, int] = {
    "predictor": 8000,
    "generator": 8001,
    "scheduler": 8002,
    "gradio": 7860,
    "dashboard": 8501,
}


def local_url(service: str) -> str:
    """The URL of ``service`` on this machine at its default port."""
    return f"http://127.0.0.1:{DEFAULT_PORTS[service]}"


class Settings(BaseSettings):
    """Everything configurable about dailyml. Every service reads the same variables."""

    # hide_input_in_errors: a refused token is never printed in the start-up error.
    model_config = SettingsConfigDict(env_prefix="DAILYML_", env_file=None, extra="ignore", hide_input_in_errors=True)

    home: Path = Field(default=Path(".dailyml"), description="Working folder: SQLite file, artifacts.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default a SQLite file in DAILYML_HOME.")
    dataset_files: str = Field(
        default="",
        description="Python files holding your own DatasetSpecs (os.pathsep-separated; docs/datasets.md). "
        "Read once per process when dailyml.datasets is first imported; every process needs the same value.",
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for admin endpoints (at least 24 characters); unset or empty: admin disabled.",
    )
    read_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for reads of stored data (history, samples, runs, models, jobs); the admin "
        "token works too. Unset or empty: those reads are open.",
    )
    artifact_key: SecretStr | None = Field(
        default=None,
        description="Secret (at least 24 characters) that signs every model and synthesizer artifact "
        "(HMAC-SHA256), checked before loading. Only the predictor, the generator and bootstrap need it. "
        "Unset or empty: artifacts are stored unsigned and loaded after their checksum only (a warning at start).",
    )
    predict_requires_token: bool = Field(
        default=False, description="/predict and /predict/batch need the read (or admin) token too."
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest request body (413 beyond); the default fits the largest batch with room to spare.",
    )
    rate_limit_per_second: float = Field(
        default=0.0, ge=0, description="Predictions (/predict, /predict/batch) per second per client IP; 0: off."
    )
    rate_limit_burst: int = Field(default=100, ge=1, description="Requests a client may send at once.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call the APIs (comma-separated, no wildcard); empty: none.",
    )
    artifact_store: Literal["auto", "database", "local"] = Field(
        default="auto",
        description="Where model artifacts live. auto: local folder for SQLite, the database otherwise "
        "(so replicas on different machines share models without a shared disk).",
    )
    data_dir: Path = Field(default=PROJECT_ROOT / "data", description="Reference CSVs with checksums.")
    train_profile: TrainProfile = Field(
        default="full", description="fast: fewer candidates, folds and trees (tests, first start)."
    )
    seed: int = 42

    predictor_url: str = local_url("predictor")
    generator_url: str = local_url("generator")
    scheduler_url: str = local_url("scheduler")

    http_keep_alive_seconds: float = Field(
        default=75.0,
        gt=0,
        description="How long the APIs keep an idle keep-alive connection open. Longer than the idle "
        "expiry of clients (httpx: 5 s) and load balancers (often 60 s), so the server never closes "
        "a connection the client is about to reuse (that race resets the request in flight).",
    )
    model_poll_seconds: float = Field(default=2.0, gt=0, description="How often replicas look for a new champion.")
    log_predictions: bool = Field(default=True, description="Log online predictions to the feature store.")
    predict_fast_path: bool = Field(
        default=True,
        description="Answer valid one-row predictions before FastAPI's router (services/predictor/"
        "fast_path.py); false sends every request through the FastAPI route.",
    )
    log_flush_seconds: float = Field(
        default=0.2,
        gt=0,
        description="Prediction log batching interval: in async mode, what a kill -9 can lose is the "
        "predictions answered in about this long (plus one write).",
    )
    log_batch_size: int = Field(default=500, gt=0)
    log_queue_max: int = Field(
        default=100_000,
        gt=0,
        description="Predictions held in memory while they cannot be written (database away); see "
        "DAILYML_LOG_WHEN_FULL. About 1.1 KB each (measured).",
    )
    log_mode: LogMode = Field(
        default="async",
        description="async: answer, then write (fast; a kill -9 loses the last flush interval). sync: answer "
        "once written (no loss; a write in every prediction's latency; 503 while the database is away).",
    )
    log_when_full: WhenFull = Field(
        default="refuse",
        description="The prediction log is full: refuse new predictions (503, Retry-After; every 200 is "
        "stored) or drop the oldest unwritten ones (counted in /metrics and /readyz).",
    )
    log_retry_max_seconds: float = Field(
        default=5.0, gt=0, description="Longest wait between attempts to write the log while the database is away."
    )
    job_heartbeat_seconds: float = Field(
        default=5.0, gt=0, description="How often a process renews the heartbeat of its background jobs and runs."
    )
    job_stale_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A job or scheduler run whose heartbeat is older than this is taken for dead (its process "
        "stopped): the job is marked failed, the run taken over. At least three heartbeats.",
    )

    @field_validator("admin_token", "read_token", "artifact_key", mode="before")
    @classmethod
    def _blank_token_is_unset(cls, value: Any) -> Any:
        return blank_to_none(value)

    _split_origins = field_validator("cors_origins", mode="before")(comma_separated)

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if "*" in origin or not origin.startswith(("http://", "https://")):
                raise ValueError(
                    "DAILYML_CORS_ORIGINS takes exact origins such as https://ui.example.org (no wildcard)"
                )
        return [origin.rstrip("/") for origin in value]

    @model_validator(mode="after")
    def _heartbeats_fit(self) -> Settings:
        if self.job_stale_seconds < 3 * self.job_heartbeat_seconds:
            raise ValueError("DAILYML_JOB_STALE_SECONDS must be at least 3 x DAILYML_JOB_HEARTBEAT_SECONDS")
        return self

    @model_validator(mode="after")
    def _refuse_weak_tokens(self) -> Settings:
        admin = self.admin_token.get_secret_value() if self.admin_token else None
        read = self.read_token.get_secret_value() if self.read_token else None
        check_token("DAILYML_ADMIN_TOKEN", admin)
        check_token("DAILYML_READ_TOKEN", read)
        if read is not None and read == admin:
            raise ValueError("DAILYML_READ_TOKEN must differ from DAILYML_ADMIN_TOKEN (it is handed to the UIs)")
        key = self.artifact_key.get_secret_value() if self.artifact_key else None
        check_token("DAILYML_ARTIFACT_KEY", key)
        if key is not None and key in (admin, read):
            raise ValueError("DAILYML_ARTIFACT_KEY must differ from the bearer tokens (they are sent over HTTP)")
        return self

    @property
    def artifact_signing_key(self) -> bytes | None:
        """The artifact key as bytes, or None when artifacts are not signed."""
        return self.artifact_key.get_secret_value().encode() if self.artifact_key else None

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'dailyml.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_artifact_store(self) -> Literal["database", "local"]:
        if self.artifact_store != "auto":
            return self.artifact_store
        return "local" if self.is_sqlite else "database"

    @property
    def artifact_dir(self) -> Path:
        return self.home / "artifacts"

    def server_options(self) -> dict[str, Any]:
        """The uvicorn options every API is served with (keyword arguments of ``uvicorn.run`` and
        ``uvicorn.Config``): our logging and access log instead of uvicorn's, and idle keep-alive
        connections kept ``DAILYML_HTTP_KEEP_ALIVE_SECONDS``."""
        return {"log_config": None, "access_log": False, "timeout_keep_alive": int(self.http_keep_alive_seconds)}


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use (never at import)."""
    return Settings()

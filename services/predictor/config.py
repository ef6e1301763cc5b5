"""Predictor configuration: the shared settings plus where to listen and how many workers."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dailyml.settings import DEFAULT_PORTS


class PredictorConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DAILYML_PREDICTOR_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORTS["predictor"]
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Worker processes sharing the port (one per core is the most that helps); each holds "
        "its own champions and prediction-log writer.",
    )

"""Predictor configuration: the shared settings plus where to listen."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class PredictorConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DAILYML_PREDICTOR_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000

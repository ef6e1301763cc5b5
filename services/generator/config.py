"""Generator configuration: the shared settings plus what only the generator needs."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from dailyml.generation.fitting import SCORING
from dailyml.settings import DEFAULT_PORTS


class GeneratorConfig(BaseSettings):
    """``DAILYML_GENERATOR_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="DAILYML_GENERATOR_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORTS["generator"]
    bootstrap: bool = Field(
        default=True, description="At start-up, fit first synthesizers for a dataset that has no default."
    )
    bootstrap_algorithms: list[str] = Field(
        default_factory=list,
        description="Algorithms the first start fits (JSON list); empty: every algorithm that fits in "
        "seconds (all but CTGAN and TVAE). The best measured becomes default.",
    )
    bootstrap_report_rows: int = Field(
        default=SCORING.report_rows, ge=100, description="Rows the first start scores fidelity on."
    )
    bootstrap_trees: int = Field(
        default=SCORING.trees, ge=1, description="Forest size of the first start's TSTR check."
    )
    report_rows: int = Field(
        default=SCORING.report_rows, ge=100, description="Rows a requested fit scores fidelity on."
    )
    trees: int = Field(default=SCORING.trees, ge=1, description="Forest size of a requested fit's TSTR check.")

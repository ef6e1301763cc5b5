"""Typed dependencies: what a route may ask for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.engine import Engine

from dailyml.background_jobs import JobRunner
from dailyml.prediction_log import PredictionLog
from dailyml.registry import Registry
from dailyml.settings import Settings
from dailyml.web import admin_guard, from_state
from services.predictor.champions import ModelServer

get_settings = from_state("settings")

SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(from_state("engine", 503))]
RegistryDep = Annotated[Registry, Depends(from_state("registry", 503))]
ModelsDep = Annotated[ModelServer, Depends(from_state("models", 503))]
LogDep = Annotated[PredictionLog, Depends(from_state("prediction_log", 503))]
JobsDep = Annotated[JobRunner, Depends(from_state("jobs", 503))]
AdminDep = admin_guard(get_settings)

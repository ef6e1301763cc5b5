"""Typed dependencies: what a route may ask for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from dailyml.jobs import JobRunner
from dailyml.registry import Registry
from dailyml.settings import Settings
from dailyml.web import admin_guard
from services.predictor.model_server import ModelServer
from services.predictor.prediction_log import PredictionLog


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def get_registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


def get_models(request: Request) -> ModelServer:
    return request.app.state.models  # type: ignore[no-any-return]


def get_log(request: Request) -> PredictionLog:
    return request.app.state.prediction_log  # type: ignore[no-any-return]


def get_jobs(request: Request) -> JobRunner:
    return request.app.state.jobs  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
ModelsDep = Annotated[ModelServer, Depends(get_models)]
LogDep = Annotated[PredictionLog, Depends(get_log)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]
AdminDep = admin_guard(get_settings)

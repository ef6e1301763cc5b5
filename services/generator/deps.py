"""Typed dependencies: what a route may ask for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from dailyml.registry import Registry
from dailyml.settings import Settings
from dailyml.web import admin_guard
from services.generator.fitter import Fitter
from services.generator.synth_server import SynthesizerServer


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def get_registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


def get_synthesizers(request: Request) -> SynthesizerServer:
    return request.app.state.synthesizers  # type: ignore[no-any-return]


def get_fitter(request: Request) -> Fitter:
    return request.app.state.fitter  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
SynthesizersDep = Annotated[SynthesizerServer, Depends(get_synthesizers)]
FitterDep = Annotated[Fitter, Depends(get_fitter)]
AdminDep = admin_guard(get_settings)

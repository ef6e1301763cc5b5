"""Typed dependencies: what a route may ask for."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.engine import Engine

from dailyml.registry import Registry
from dailyml.settings import Settings
from dailyml.web import admin_guard, from_state
from services.generator.default_synthesizers import SynthesizerServer
from services.generator.fitter import Fitter

get_settings = from_state("settings")

SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(from_state("engine", 503))]
RegistryDep = Annotated[Registry, Depends(from_state("registry", 503))]
SynthesizersDep = Annotated[SynthesizerServer, Depends(from_state("synthesizers", 503))]
FitterDep = Annotated[Fitter, Depends(from_state("fitter", 503))]
AdminDep = admin_guard(get_settings)

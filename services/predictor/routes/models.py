"""Model versions, promotion and rollback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from dailyml.contracts import MAX_DB_INT, ModelList, ModelVersionOut, registry_entry_out
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.registry import CHAMPION
from dailyml.tables import ModelVersion
from dailyml.web import error_responses
from services.predictor.deps import AdminDep, ModelsDep, RegistryDep

# An int path convertor: "/models/rollback" and "/models/train" are not taken for a version.
Version = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="The version number (1, 2, ...)")]


def version_out(mv: ModelVersion, champion_id: int | None) -> ModelVersionOut:
    return registry_entry_out(ModelVersionOut, mv, CHAMPION, champion_id)


def router_for(spec: DatasetSpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.name}/models", tags=[spec.name])

    def list_models(registry: RegistryDep) -> ModelList:
        champion_id = registry.alias_id(spec.name)
        versions = [version_out(mv, champion_id) for mv in registry.versions(spec.name)]
        champion = next((v.version for v in versions if CHAMPION in v.aliases), None)
        return ModelList(dataset=spec.name, champion=champion, versions=versions)

    def get_model(version: Version, registry: RegistryDep) -> ModelVersionOut:
        return version_out(registry.get(spec.name, version), registry.alias_id(spec.name))

    def promote(version: Version, registry: RegistryDep, models: ModelsDep, request: Request) -> ModelVersionOut:
        mv = registry.promote(spec.name, version, reason="promoted through the API")
        models.refresh()  # this replica at once; the others within DAILYML_MODEL_POLL_SECONDS
        return version_out(mv, mv.id)

    def rollback(registry: RegistryDep, models: ModelsDep) -> ModelVersionOut:
        mv = registry.rollback(spec.name, reason="rolled back through the API")
        models.refresh()
        return version_out(mv, mv.id)

    router.add_api_route(
        "",
        list_models,
        methods=["GET"],
        response_model=ModelList,
        summary="Model versions with metrics; which one is champion",
    )
    router.add_api_route(
        "/{version:int}", get_model, methods=["GET"], response_model=ModelVersionOut, responses=error_responses(404)
    )
    router.add_api_route(
        "/{version:int}/promote",
        promote,
        methods=["POST"],
        response_model=ModelVersionOut,
        dependencies=[AdminDep],
        responses=error_responses(404, 409),
        summary="Make this version the champion",
    )
    router.add_api_route(
        "/rollback",
        rollback,
        methods=["POST"],
        response_model=ModelVersionOut,
        dependencies=[AdminDep],
        responses=error_responses(409),
        summary="Point champion back at the previous champion",
    )
    return router


routers: list[APIRouter] = [router_for(spec) for spec in SPECS.values()]

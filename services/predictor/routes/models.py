"""Model versions, promotion and rollback."""

from __future__ import annotations

from fastapi import APIRouter, Request

from dailyml.contracts import ModelList, ModelVersionOut, registry_entry_out
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.registry import CHAMPION
from dailyml.tables import ModelVersion
from services.predictor.deps import AdminDep, ModelsDep, RegistryDep


def version_out(mv: ModelVersion, champion_id: int | None) -> ModelVersionOut:
    return registry_entry_out(ModelVersionOut, mv, CHAMPION, champion_id)


def router_for(spec: DatasetSpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.name}/models", tags=[spec.name])

    def list_models(registry: RegistryDep) -> ModelList:
        champion_id = registry.alias_id(spec.name)
        versions = [version_out(mv, champion_id) for mv in registry.versions(spec.name)]
        champion = next((v.version for v in versions if CHAMPION in v.aliases), None)
        return ModelList(dataset=spec.name, champion=champion, versions=versions)

    def get_model(version: int, registry: RegistryDep) -> ModelVersionOut:
        return version_out(registry.get(spec.name, version), registry.alias_id(spec.name))

    def promote(version: int, registry: RegistryDep, models: ModelsDep, request: Request) -> ModelVersionOut:
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
    router.add_api_route("/{version}", get_model, methods=["GET"], response_model=ModelVersionOut)
    router.add_api_route(
        "/{version}/promote",
        promote,
        methods=["POST"],
        response_model=ModelVersionOut,
        dependencies=[AdminDep],
        summary="Make this version the champion",
    )
    router.add_api_route(
        "/rollback",
        rollback,
        methods=["POST"],
        response_model=ModelVersionOut,
        dependencies=[AdminDep],
        summary="Point champion back at the previous champion",
    )
    return router


routers: list[APIRouter] = [router_for(spec) for spec in SPECS.values()]

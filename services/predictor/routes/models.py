"""Model versions, promotion and rollback."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from dailyml.contracts import MAX_DB_INT, ModelList, ModelVersionOut, registry_entry_out
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.errors import ArtifactRejectedError
from dailyml.inference import LoadedModel
from dailyml.registry import CHAMPION, Registry
from dailyml.tables import ModelVersion
from dailyml.web import error_responses
from services.predictor.champions import ModelServer
from services.predictor.deps import AdminDep, ModelsDep, RegistryDep

# An int path convertor: "/models/rollback" and "/models/train" are not taken for a version.
Version = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="The version number (1, 2, ...)")]


def version_out(mv: ModelVersion, champion_id: int | None) -> ModelVersionOut:
    return registry_entry_out(ModelVersionOut, mv, CHAMPION, champion_id)


def loadable(mv: ModelVersion, models: ModelServer, registry: Registry, action: str) -> LoadedModel:
    """``mv`` loaded by this replica (signature, checksum, trusted types, compiled), or
    ArtifactRejectedError (409) before the alias moves: a champion that cannot be served is
    never named champion through the API."""
    try:
        return models.preload(mv)
    except Exception as exc:
        current = registry.aliased(mv.dataset)
        unchanged = f"the champion is still version {current.version}" if current else "there is no champion"
        raise ArtifactRejectedError(
            f"{mv.dataset} version {mv.version} cannot be served, so it was not {action}: {exc}; {unchanged}",
            detail={"dataset": mv.dataset, "version": mv.version, "reason": str(exc)},
        ) from None


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
        target = registry.get(spec.name, version)
        loaded = loadable(target, models, registry, "promoted")
        mv = registry.promote(spec.name, version, reason="promoted through the API")
        models.install(mv, loaded)  # this replica at once; the others within DAILYML_MODEL_POLL_SECONDS
        models.refresh()
        return version_out(mv, mv.id)

    def rollback(registry: RegistryDep, models: ModelsDep) -> ModelVersionOut:
        state = registry.alias_state(spec.name)
        if state.previous is not None:
            loadable(state.previous, models, registry, "rolled back to")
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
        description="409 `artifact_rejected` when this replica cannot load the version (bad signature, "
        "checksum mismatch, untrusted type): the champion is left unchanged.",
    )
    router.add_api_route(
        "/rollback",
        rollback,
        methods=["POST"],
        response_model=ModelVersionOut,
        dependencies=[AdminDep],
        responses=error_responses(409),
        summary="Point champion back at the previous champion",
        description="409 when there is no earlier champion, or `artifact_rejected` when this replica "
        "cannot load it (the champion is left unchanged).",
    )
    return router


routers: list[APIRouter] = [router_for(spec) for spec in SPECS.values()]

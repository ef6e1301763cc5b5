"""Synthesizer versions with their fidelity reports; start a background fit."""

# No `from __future__ import annotations`: FastAPI must see each dataset's body class as an
# object, not as a string it cannot resolve.

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dailyml.contracts.common import JobAccepted, registry_entry_out
from dailyml.contracts.generator import SynthesizerList, SynthesizerOut, fit_model
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.generation.fitting import DEFAULT, KIND
from dailyml.synthesizers import canonical
from dailyml.tables import ModelVersion
from services.generator.deps import AdminDep, FitterDep, RegistryDep


def version_out(mv: ModelVersion, default_id: int | None) -> SynthesizerOut:
    return registry_entry_out(SynthesizerOut, mv, DEFAULT, default_id)


def router_for(spec: DatasetSpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.name}/synthesizers", tags=[spec.name])
    Body = fit_model(spec)

    def list_synthesizers(registry: RegistryDep) -> SynthesizerList:
        default_id = registry.alias_id(spec.name, KIND, DEFAULT)
        versions = [version_out(mv, default_id) for mv in registry.versions(spec.name, KIND)]
        default = next((v.version for v in versions if DEFAULT in v.aliases), None)
        return SynthesizerList(dataset=spec.name, default=default, versions=versions)

    def fit(body: Body, fitter: FitterDep) -> JSONResponse:  # type: ignore[valid-type]
        job = fitter.submit(spec.name, canonical(body.algorithm), body.epochs, body.promote)  # type: ignore[attr-defined]
        accepted = JobAccepted(job_id=job.id, status=job.status)
        return JSONResponse(status_code=202, content=accepted.model_dump(mode="json"))

    router.add_api_route(
        "",
        list_synthesizers,
        methods=["GET"],
        response_model=SynthesizerList,
        summary="Fitted synthesizers with their fidelity reports; which one is default",
    )
    router.add_api_route(
        "/fit",
        fit,
        methods=["POST"],
        status_code=202,
        response_model=JobAccepted,
        dependencies=[AdminDep],
        summary="Fit a synthesizer on the reference rows in the background; returns the job id",
    )
    return router


routers: list[APIRouter] = [router_for(spec) for spec in SPECS.values()]

"""Synthesizer versions with their fidelity reports; start a background fit."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dailyml.contracts import registry_entry_out
from dailyml.datasets import SPECS, DatasetSpec
from dailyml.errors import InvalidInputError
from dailyml.synth import algorithms_for, canonical
from dailyml.synth.contracts import FitIn, JobAccepted, SynthesizerList, SynthesizerOut
from dailyml.synth.fitting import DEFAULT, KIND
from dailyml.tables import ModelVersion
from services.generator.deps import AdminDep, FitterDep, RegistryDep


def version_out(mv: ModelVersion, default_id: int | None) -> SynthesizerOut:
    return registry_entry_out(SynthesizerOut, mv, DEFAULT, default_id)


def router_for(spec: DatasetSpec) -> APIRouter:
    router = APIRouter(prefix=f"/{spec.name}/synthesizers", tags=[spec.name])

    def list_synthesizers(registry: RegistryDep) -> SynthesizerList:
        default_id = registry.alias_id(spec.name, KIND, DEFAULT)
        versions = [version_out(mv, default_id) for mv in registry.versions(spec.name, KIND)]
        default = next((v.version for v in versions if DEFAULT in v.aliases), None)
        return SynthesizerList(dataset=spec.name, default=default, versions=versions)

    def fit(body: FitIn, fitter: FitterDep) -> JSONResponse:
        known = algorithms_for(spec)
        if canonical(body.algorithm) not in known:
            message = f"must be one of {known}"
            raise InvalidInputError(
                f"algorithm: {message}",
                [{"field": "algorithm", "loc": ["algorithm"], "rule": "algorithm", "message": message}],
            )
        job = fitter.submit(spec.name, canonical(body.algorithm), body.epochs, body.promote)
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

"""The request and response models of every service's API: one module per API, one for what they share.

- ``common``: what every API shares: the error answer (``ErrorOut``), ``/readyz``'s
  ``Readiness``, UTC timestamps, whole-number integers, registry entries (the version family:
  ``VersionOrigin``, ``VersionKind``, ``NewVersion``, ``RegisteredVersion``), and background jobs
  (``JobBase``, ``JobAccepted``, ``JobOut``: the predictor's training and the generator's fitting alike).
- ``predictor``: the predictor's models, most built from the dataset specs (``instance_model``,
  ``prediction_model``, ...), monitoring and drift reports, and the training outcome the
  scheduler's gate reads.
- ``generator``: the generator's models: generation, synthesizers, fitting (``fit_model``: the
  algorithms that apply to a spec), distributions.
- ``scheduler``: the scheduler's models: the run log (``RunBase``, ``RunOut``), manual triggers,
  the schedule.

Services validate with these and clients parse answers with them. Registry versions, jobs and
runs are model families: their SQLModel bases (no table) declare the fields once, for the tables
of ``dailyml.tables`` and for the API views here alike.
Every public name is also importable from ``dailyml.contracts`` itself.
"""

from dailyml.contracts.common import (
    MAX_DB_INT,
    ErrorDetail,
    ErrorOut,
    JobAccepted,
    JobBase,
    JobOut,
    NewVersion,
    Readiness,
    RegisteredVersion,
    UTCDateTime,
    VersionKind,
    VersionOrigin,
    answer_config,
    json_column,
    registry_entry_out,
    timestamp_column,
    whole_number,
)
from dailyml.contracts.generator import (
    MAX_GENERATE,
    Distributions,
    FitIn,
    GenerateIn,
    GenerateOut,
    Histogram,
    LabelCounts,
    Promote,
    SamplesPage,
    SynthesizerList,
    SynthesizerOut,
    fit_model,
)
from dailyml.contracts.predictor import (
    MAX_BATCH,
    MIN_SAMPLES,
    PSI_THRESHOLD,
    ActualOut,
    ChampionScore,
    ConfusionMatrix,
    DriftBin,
    DriftReport,
    FeatureDrift,
    FeatureOut,
    HistoryItem,
    HistoryPage,
    MetricsPoint,
    MetricsSeries,
    ModelList,
    ModelVersionOut,
    PendingResult,
    SpecOut,
    TrainingOutcome,
    TrainRequest,
    actual_model,
    batch_request_model,
    batch_response_model,
    instance_model,
    prediction_body,
    prediction_model,
    spec_out,
)
from dailyml.contracts.scheduler import (
    DatasetName,
    RunBase,
    RunOut,
    RunPage,
    ScheduledJobOut,
    ScheduleOut,
    TriggerRequest,
)

__all__ = [
    # common
    "MAX_DB_INT",
    "ErrorDetail",
    "ErrorOut",
    "JobAccepted",
    "JobBase",
    "JobOut",
    "NewVersion",
    "Readiness",
    "RegisteredVersion",
    "UTCDateTime",
    "VersionKind",
    "VersionOrigin",
    "answer_config",
    "json_column",
    "registry_entry_out",
    "timestamp_column",
    "whole_number",
    # predictor
    "MAX_BATCH",
    "MIN_SAMPLES",
    "PSI_THRESHOLD",
    "ActualOut",
    "ChampionScore",
    "ConfusionMatrix",
    "DriftBin",
    "DriftReport",
    "FeatureDrift",
    "FeatureOut",
    "HistoryItem",
    "HistoryPage",
    "MetricsPoint",
    "MetricsSeries",
    "ModelList",
    "ModelVersionOut",
    "PendingResult",
    "SpecOut",
    "TrainRequest",
    "TrainingOutcome",
    "actual_model",
    "batch_request_model",
    "batch_response_model",
    "instance_model",
    "prediction_body",
    "prediction_model",
    "spec_out",
    # generator
    "MAX_GENERATE",
    "Distributions",
    "FitIn",
    "GenerateIn",
    "GenerateOut",
    "Histogram",
    "LabelCounts",
    "Promote",
    "SamplesPage",
    "SynthesizerList",
    "SynthesizerOut",
    "fit_model",
    # scheduler
    "DatasetName",
    "RunBase",
    "RunOut",
    "RunPage",
    "ScheduleOut",
    "ScheduledJobOut",
    "TriggerRequest",
]

"""Typed HTTP clients for the services: what the scheduler and the frontends use (HTTP only)."""

from dailyml.clients.base import ServiceClient, ServiceError, ServiceUnavailable
from dailyml.clients.predictor import PredictorClient

__all__ = ["PredictorClient", "ServiceClient", "ServiceError", "ServiceUnavailable"]
from dailyml.clients.scheduler import SchedulerClient as SchedulerClient  # noqa: E402
from dailyml.clients.generator import GeneratorClient as GeneratorClient  # noqa: E402

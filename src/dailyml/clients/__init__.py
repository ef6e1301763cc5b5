"""Typed HTTP clients for the services: what the scheduler and the frontends use (HTTP only)."""

from dailyml.clients.base import ServiceClient, ServiceError, ServiceUnavailable
from dailyml.clients.generator import GeneratorClient
from dailyml.clients.predictor import PredictorClient
from dailyml.clients.scheduler import SchedulerClient

__all__ = [
    "GeneratorClient",
    "PredictorClient",
    "SchedulerClient",
    "ServiceClient",
    "ServiceError",
    "ServiceUnavailable",
]

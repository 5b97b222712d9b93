"""Where each service's parts live, looked up by name."""

import importlib

from shared.service import ServiceParts
from shared.settings import ServiceName


def parts_of(service: ServiceName) -> ServiceParts:
    module = importlib.import_module(f"services.{service.value}.app")
    parts: ServiceParts = module.PARTS
    return parts

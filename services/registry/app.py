"""Builds the registry service: what `kanalvakt run registry` serves."""

from fastapi import FastAPI

from services.registry.api import router
from services.registry.handlers import events
from services.registry.store import RegistryStore
from shared.service import ServiceParts, build_service
from shared.settings import ServiceName, Settings

PARTS = ServiceParts(
    title="Kanalvakt registry", events=events, make_store=RegistryStore, api=router
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_service(PARTS, settings or Settings(service=ServiceName.REGISTRY))

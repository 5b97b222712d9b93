"""Builds the registry service: what `kanalvakt run registry` serves."""

from services.registry.api import router
from services.registry.handlers import events
from services.registry.scheduler import run_forever
from services.registry.store import MongoRegistryStore
from shared.service import ServiceParts

PARTS = ServiceParts(
    title="Kanalvakt registry",
    events=events,
    make_store=MongoRegistryStore,
    api=router,
    background=[run_forever],
)

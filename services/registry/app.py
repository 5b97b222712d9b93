"""Builds the registry service: what `kanalvakt run registry` serves."""

from fastapi import FastAPI

from services.registry import scheduler
from services.registry.api import router
from services.registry.handlers import events
from services.registry.store import RegistryStore
from shared.service import Runtime, ServiceParts, build_service
from shared.settings import ServiceName, Settings


async def run_scheduler(runtime: Runtime) -> None:
    await scheduler.run_forever(
        runtime.store,
        runtime.publisher,
        runtime.kommun,
        runtime.clock,
        runtime.settings.scheduler_interval_seconds,
    )


PARTS = ServiceParts(
    title="Kanalvakt registry",
    events=events,
    make_store=RegistryStore,
    api=router,
    background=[run_scheduler],
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_service(PARTS, settings or Settings(service=ServiceName.REGISTRY))

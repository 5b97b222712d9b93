"""Builds the notify service: what `kanalvakt run notify` serves."""

from fastapi import FastAPI

from services.notify.api import router
from services.notify.handlers import events
from services.notify.store import NotifyStore
from shared.service import ServiceParts, build_service
from shared.settings import ServiceName, Settings

PARTS = ServiceParts(title="Kanalvakt notify", events=events, make_store=NotifyStore, api=router)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_service(PARTS, settings or Settings(service=ServiceName.NOTIFY))

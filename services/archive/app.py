"""Builds the archive service: what `kanalvakt run archive` serves."""

from fastapi import FastAPI

from services.archive.api import router
from services.archive.handlers import events
from services.archive.store import ArchiveStore
from shared.service import ServiceParts, build_service
from shared.settings import ServiceName, Settings

PARTS = ServiceParts(title="Kanalvakt archive", events=events, make_store=ArchiveStore, api=router)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_service(PARTS, settings or Settings(service=ServiceName.ARCHIVE))

"""Builds the moderation service: what `kanalvakt run moderation` serves."""

from fastapi import FastAPI

from services.moderation.api import router
from services.moderation.handlers import events
from services.moderation.store import ModerationStore
from shared.service import ServiceParts, build_service
from shared.settings import ServiceName, Settings

PARTS = ServiceParts(
    title="Kanalvakt moderation", events=events, make_store=ModerationStore, api=router
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_service(PARTS, settings or Settings(service=ServiceName.MODERATION))

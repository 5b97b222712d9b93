"""Builds the moderation service: what `kanalvakt run moderation` serves."""

from services.moderation.api import router
from services.moderation.handlers import events
from services.moderation.store import ModerationStore
from services.moderation.sweep import run_forever
from shared.service import ServiceParts

PARTS = ServiceParts(
    title="Kanalvakt moderation",
    events=events,
    make_store=ModerationStore,
    api=router,
    background=[run_forever],
)

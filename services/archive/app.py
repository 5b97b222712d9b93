"""Builds the archive service: what `kanalvakt run archive` serves."""

from services.archive.api import router
from services.archive.handlers import events
from services.archive.handlers.culling import cull_forever
from services.archive.handlers.diarium import register_waiting_forever
from services.archive.handlers.snapshots import snapshots_due_forever
from services.archive.handlers.verify import verify_forever
from services.archive.store import ArchiveStore
from shared.service import ServiceParts

PARTS = ServiceParts(
    title="Kanalvakt archive",
    events=events,
    make_store=ArchiveStore,
    api=router,
    background=[register_waiting_forever, snapshots_due_forever, cull_forever, verify_forever],
)

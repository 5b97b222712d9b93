"""Builds the archive service: what `kanalvakt run archive` serves."""

from services.archive.api import router
from services.archive.handlers import events
from services.archive.store import ArchiveStore
from shared.service import ServiceParts

PARTS = ServiceParts(title="Kanalvakt archive", events=events, make_store=ArchiveStore, api=router)

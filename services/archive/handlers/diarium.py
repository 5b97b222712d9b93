"""Registration in the diarium (P10.3, L5): confidential records registered at once."""

from services.archive.domain.records import Record
from services.archive.store import ArchiveStore
from shared.service import Dependencies, Deployment

Deps = Dependencies[ArchiveStore]


async def register(deps: Deps, record: Record, reason: str) -> Record:
    """Register the record if it awaits registration; the record as it is then."""
    return record


async def register_waiting_forever(deployment: Deployment[ArchiveStore]) -> None:
    """Periodically registers what still waits (a failure earlier), and sets the gauge."""
    return None

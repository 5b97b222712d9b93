"""PDF/A snapshots of accounts (P10.5, L8)."""

from typing import Literal

from services.archive.store import ArchiveStore
from shared.service import Dependencies, Deployment

Deps = Dependencies[ArchiveStore]
Reason = Literal["yearly", "changed", "closing", "requested"]


async def take(deps: Deps, account_id: str, reason: Reason, *, key: str) -> None:
    """A snapshot of the account now; once per `key` (the event that asked for it)."""
    return None


async def snapshots_due_forever(deployment: Deployment[ArchiveStore]) -> None:
    return None

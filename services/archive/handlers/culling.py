"""Culling under decided retention rules, and legal holds (P10.2, L6, L7)."""

from services.archive.store import ArchiveStore
from shared.service import Deployment


async def cull_forever(deployment: Deployment[ArchiveStore]) -> None:
    return None

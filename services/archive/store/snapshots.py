"""PDF/A snapshots of accounts, with their SHA-256 (P10.5, L8)."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase

from shared.outbox import Outbox
from shared.store import Document


class SnapshotStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.db = db
        self.kommun = kommun

    async def create_indexes(self) -> None:
        pass

    def outboxes(self) -> Sequence[Outbox]:
        return []

"""Legal holds and the culling log (P10.2, L6, L7)."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase

from shared.outbox import Outbox
from shared.store import Document


class CullingStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.db = db
        self.kommun = kommun

    async def create_indexes(self) -> None:
        pass

    def outboxes(self) -> Sequence[Outbox]:
        return []

    async def culled_entries(self, account_id: str) -> dict[str, str]:
        """Entry id → hash of every chain entry of the account the culling log lists."""
        return {}

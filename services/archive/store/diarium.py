"""The diarium: diary entries numbered without gaps per year (P10.3, L5)."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase

from shared.outbox import Outbox
from shared.store import Document


class DiariumStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.db = db
        self.kommun = kommun

    async def create_indexes(self) -> None:
        pass

    def outboxes(self) -> Sequence[Outbox]:
        return []

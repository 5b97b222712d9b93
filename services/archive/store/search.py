"""Searches and exports for requests for public records, and their log (L4)."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase

from shared.outbox import Outbox
from shared.store import Document


class SearchStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.db = db
        self.kommun = kommun

    async def create_indexes(self) -> None:
        pass

    def outboxes(self) -> Sequence[Outbox]:
        return []

"""The archive's own database: records, nothing else; one kommun's per store."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase

from services.archive.domain import Record
from shared.outbox import Outbox
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper


class ArchiveStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.records = MongoRepository(db["records"], Mapper(Record), kommun)

    async def create_indexes(self) -> None:
        await self.records.create_indexes()
        await self.records.collection.create_index(
            [("kommun", 1), ("account_id", 1), ("recorded_at", 1)]
        )

    def outboxes(self) -> Sequence[Outbox]:
        return [self.records.outbox]

    async def get(self, record_id: str) -> Record | None:
        found = await self.records.get(record_id)
        return found.item if found else None

    async def for_account(self, account_id: str, limit: int = 500) -> list[Record]:
        found = await self.records.find({"account_id": account_id}, "recorded_at", limit)
        return [v.item for v in found]

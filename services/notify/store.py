"""Notify's own database: notifications and their delivery status, nothing else."""

from collections.abc import Sequence

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.domain import Notification
from shared.outbox import Outbox
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper


class NotifyStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.notifications = MongoRepository(db["notifications"], Mapper(Notification))

    async def create_indexes(self) -> None:
        coll = self.notifications.collection
        await self.notifications.create_indexes()
        await coll.create_index("event_id")
        await coll.create_index([("status", 1), ("created_at", 1)])

    def outboxes(self) -> Sequence[Outbox]:
        return [self.notifications.outbox]

    async def list(self, event_id: str | None = None, limit: int = 200) -> list[Notification]:
        query = {"event_id": event_id} if event_id else {}
        coll = self.notifications.collection
        cursor = coll.find(query).sort("created_at", DESCENDING).limit(limit)
        return [self.notifications.versioned(doc).item async for doc in cursor]

"""Notify's own database: notifications and their delivery status, nothing else; one
kommun's per store."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.domain import Notification
from shared.outbox import Outbox
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper


class NotifyStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.notifications = MongoRepository(db["notifications"], Mapper(Notification), kommun)

    async def create_indexes(self) -> None:
        coll = self.notifications.collection
        await self.notifications.create_indexes()
        await coll.create_index([("kommun", 1), ("event_id", 1)])
        await coll.create_index([("kommun", 1), ("status", 1), ("created_at", 1)])

    def outboxes(self) -> Sequence[Outbox]:
        return [self.notifications.outbox]

    async def list(self, event_id: str | None = None, limit: int = 200) -> list[Notification]:
        query = {"event_id": event_id} if event_id else {}
        found = await self.notifications.find(query, "created_at", limit, newest_first=True)
        return [v.item for v in found]

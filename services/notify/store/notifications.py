"""Notifications and their attempts: what is due, and the claim that lets one replica
send each (owned by the delivery work)."""

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.domain.notifications import Notification
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper


class NotificationStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.repo = MongoRepository(db["notifications"], Mapper(Notification), kommun)

    async def create_indexes(self) -> None:
        await self.repo.create_indexes()
        coll = self.repo.collection
        await coll.create_index([("kommun", 1), ("event_id", 1)])
        await coll.create_index([("kommun", 1), ("status", 1), ("due_at", 1)])

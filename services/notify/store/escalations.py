"""Escalations awaiting acknowledgement (owned by acknowledgements)."""

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.domain.acks import Escalation
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper


class EscalationStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.repo = MongoRepository(db["escalations"], Mapper(Escalation), kommun)

    async def create_indexes(self) -> None:
        await self.repo.create_indexes()
        await self.repo.collection.create_index([("kommun", 1), ("next_level_at", 1)])

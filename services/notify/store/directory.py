"""Notify's read model of accounts, administrators and absences (owned by routing)."""

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.domain.directory import Account
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper


class DirectoryStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.accounts = MongoRepository(db["accounts"], Mapper(Account), kommun)

    async def create_indexes(self) -> None:
        await self.accounts.create_indexes()

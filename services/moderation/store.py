"""Moderation's own database: watched accounts (and, later, comments and cases)."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase

from services.moderation.domain.accounts import WatchedAccount
from shared.outbox import Outbox
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper


class ModerationStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.accounts = MongoRepository(db["watched_accounts"], Mapper(WatchedAccount), kommun)

    async def create_indexes(self) -> None:
        await self.accounts.create_indexes()

    def outboxes(self) -> Sequence[Outbox]:
        return [self.accounts.outbox]

    async def get(self, account_id: str) -> WatchedAccount | None:
        found = await self.accounts.get(account_id)
        return found.item if found else None

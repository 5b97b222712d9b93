"""Moderation's own database: watched accounts (and, later, comments and cases)."""

from collections.abc import Sequence
from dataclasses import asdict

from pymongo.asynchronous.database import AsyncDatabase

from services.moderation.domain import WatchedAccount
from shared.outbox import Outbox
from shared.store import Document, insert_once


class ModerationStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._accounts = db["watched_accounts"]

    async def create_indexes(self) -> None:
        """Only `_id` lookups so far."""

    def outboxes(self) -> Sequence[Outbox]:
        return []

    async def watch(self, account: WatchedAccount) -> bool:
        doc = asdict(account)
        doc["_id"] = doc.pop("id")
        return await insert_once(self._accounts, doc)

    async def get(self, account_id: str) -> WatchedAccount | None:
        doc = await self._accounts.find_one({"_id": account_id})
        if doc is None:
            return None
        doc["id"] = doc.pop("_id")
        return WatchedAccount(**doc)

"""The diarium: diary entries numbered without gaps per kommun and year (P10.3, L5).

A number is taken by inserting its entry under the id (kommun, year, seq), seq being the
year's highest plus one: the id is unique, so of two replicas taking the same number one
insert fails and that one reads again and tries the next. No counter is kept apart from
the entries, so a number exists exactly when its entry does: no gaps, no transactions.
(kommun, record_id) is unique too: a record has one entry however often, and however
concurrently, it is registered.

Every query shape used here is in tests/integration/test_store_conformance.py.
"""

from collections.abc import Sequence
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.archive.domain.diarium import DiaryEntry
from shared.outbox import Outbox
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper

# What a list of diary entries returns at most.
PAGE_LIMIT = 500


class DiariumStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.db = db
        self.kommun = kommun
        self.repo = MongoRepository(db["diary"], Mapper(DiaryEntry), kommun)

    async def create_indexes(self) -> None:
        await self.repo.create_indexes()
        coll = self.repo.collection
        # One entry per record (record_id is always written: nx-27017 answers wrongly for
        # missing fields under a unique index).
        await coll.create_index([("kommun", 1), ("record_id", 1)], unique=True)
        await coll.create_index("record_id")  # read per record; nx-27017: single fields only
        await coll.create_index([("kommun", 1), ("year", 1), ("seq", 1)])
        await coll.create_index([("kommun", 1), ("number", 1)])
        await coll.create_index([("kommun", 1), ("account_id", 1), ("year", 1), ("seq", 1)])

    def outboxes(self) -> Sequence[Outbox]:
        return [self.repo.outbox]

    async def get(self, entry_id: str) -> DiaryEntry | None:
        found = await self.repo.get(entry_id)
        return found.item if found else None

    async def of_record(self, record_id: str) -> DiaryEntry | None:
        doc = await self.repo.collection.find_one(self.repo.scoped({"record_id": record_id}))
        return self.repo.versioned(doc).item if doc else None

    async def highest_seq(self, year: int) -> int:
        """The year's last number taken, 0 before the first."""
        cursor = (
            self.repo.collection.find(self.repo.scoped({"year": year}), {"seq": 1})
            .sort("seq", DESCENDING)
            .limit(1)
        )
        async for doc in cursor:
            return int(doc["seq"])
        return 0

    async def find(
        self,
        *,
        year: int | None = None,
        account_id: str | None = None,
        number: str | None = None,
        limit: int = PAGE_LIMIT,
    ) -> list[DiaryEntry]:
        """Entries newest first (by year, then number)."""
        query: dict[str, Any] = {}
        if year is not None:
            query["year"] = year
        if account_id is not None:
            query["account_id"] = account_id
        if number is not None:
            query["number"] = number
        cursor = (
            self.repo.collection.find(self.repo.scoped(query))
            .sort([("year", DESCENDING), ("seq", DESCENDING)])
            .limit(min(limit, PAGE_LIMIT))
        )
        return [self.repo.versioned(doc).item async for doc in cursor]

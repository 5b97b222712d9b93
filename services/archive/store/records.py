"""Records and the hash chains they are folded from (P3.7b, P5.2, P10.4, P10.6, L4, L6).

`entries` is append-only: an entry is inserted once, under an id that names its place in
its account's chain, and only culling ever rewrites one (into a tombstone). Two replicas
appending to one account race for the same id: the loser reads the new head and tries
the next place. A fact is kept once: (kommun, event_id) is unique, so a redelivered or
concurrently handled event finds its entry instead of making a second.

`chain_heads` holds each account's head anchor (domain.chain.Anchor): after an entry is
inserted its place and hash are written there, only ever forward (a filter on a lower
`seq`, upserted; a lost race is a duplicate key and is ignored). `verify` reads it before
the chain and reports a chain that ends before it (entries deleted from the end).

Every query shape used here is in tests/integration/test_store_conformance.py.
"""

from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.archive.domain import chain
from services.archive.domain.chain import Anchor, Entry
from services.archive.domain.records import Fact, PlatformState, Record, RecordKind
from services.archive.domain.search import UNKNOWN, record_fields
from shared.outbox import Outbox
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper

# Appends racing for one account's next place: more than this many losses in a row is
# not contention but a fault.
APPEND_ATTEMPTS = 50


class ChainStore:
    """One kommun's hash chains, one per account."""

    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.collection = db["entries"]
        self.heads = db["chain_heads"]
        self.kommun = kommun
        self.mapper = Mapper(Entry)

    async def create_indexes(self) -> None:
        await self.collection.create_index([("kommun", 1), ("event_id", 1)], unique=True)
        await self.collection.create_index([("kommun", 1), ("account_id", 1), ("seq", 1)])
        await self.collection.create_index([("kommun", 1), ("record_id", 1), ("seq", 1)])
        await self.collection.create_index(
            [("kommun", 1), ("account_id", 1), ("record_id", 1), ("seq", 1)]
        )
        await self.heads.create_index([("kommun", 1), ("account_id", 1)])

    async def by_event(self, event_id: str) -> Entry | None:
        doc = await self.collection.find_one({"kommun": self.kommun, "event_id": event_id})
        return self.mapper.from_document(doc) if doc else None

    async def head(self, account_id: str) -> Entry | None:
        cursor = (
            self.collection.find({"kommun": self.kommun, "account_id": account_id})
            .sort("seq", DESCENDING)
            .limit(1)
        )
        async for doc in cursor:
            return self.mapper.from_document(doc)
        return None

    async def keep(self, fact: Fact, now: datetime) -> Entry:
        """The fact's entry: appended at the end of its account's chain, or the one kept
        before for the same event."""
        for _ in range(APPEND_ATTEMPTS):
            if (found := await self.by_event(fact.event_id)) is not None:
                await self._anchor(found)  # a crash may have come before its anchor
                return found
            entry = chain.append(self.kommun, await self.head(fact.account_id), fact, now)
            try:
                await self.collection.insert_one(self.mapper.to_document(entry))
            except DuplicateKeyError:
                continue  # another replica took this place, or kept this very fact
            await self._anchor(entry)
            return entry
        raise RuntimeError(f"entries: could not append to account {fact.account_id}'s chain")

    def _anchor_id(self, account_id: str) -> str:
        return f"{self.kommun}:{account_id}"

    async def _anchor(self, entry: Entry) -> None:
        """The account's head anchor moved to `entry`, unless it is there or further."""
        # A duplicate key: the anchor is at this entry or past it already.
        with suppress(DuplicateKeyError):
            await self.heads.update_one(
                {
                    "_id": self._anchor_id(entry.account_id),
                    "kommun": self.kommun,
                    "seq": {"$lt": entry.seq},
                },
                {"$set": {"account_id": entry.account_id, "seq": entry.seq, "hash": entry.hash}},
                upsert=True,
            )

    async def anchor(self, account_id: str) -> Anchor | None:
        doc = await self.heads.find_one({"_id": self._anchor_id(account_id), "kommun": self.kommun})
        if doc is None:
            return None
        return Anchor(self.kommun, str(doc["account_id"]), int(doc["seq"]), str(doc["hash"]))

    async def of_account(self, account_id: str) -> AsyncIterator[Entry]:
        """One account's chain, in order."""
        cursor = self.collection.find({"kommun": self.kommun, "account_id": account_id}).sort(
            "seq", ASCENDING
        )
        async for doc in cursor:
            yield self.mapper.from_document(doc)

    async def of_account_by_record(self, account_id: str) -> AsyncIterator[Entry]:
        """One account's entries grouped by record, each record's in chain order."""
        cursor = self.collection.find({"kommun": self.kommun, "account_id": account_id}).sort(
            [("record_id", ASCENDING), ("seq", ASCENDING)]
        )
        async for doc in cursor:
            yield self.mapper.from_document(doc)

    async def of_record(self, record_id: str) -> list[Entry]:
        cursor = self.collection.find({"kommun": self.kommun, "record_id": record_id}).sort(
            "seq", ASCENDING
        )
        return [self.mapper.from_document(doc) async for doc in cursor]

    async def accounts(self) -> list[str]:
        """Every account with a chain or an anchor (a chain deleted whole has only that)."""
        scope = {"kommun": self.kommun}
        chains = await self.collection.distinct("account_id", scope)
        anchored = await self.heads.distinct("account_id", scope)
        return sorted({*chains, *anchored})

    async def count(self, account_id: str | None = None) -> int:
        query: dict[str, Any] = {"kommun": self.kommun}
        if account_id is not None:
            query["account_id"] = account_id
        return int(await self.collection.count_documents(query))


class RecordStore:
    """One kommun's records: each the fold of its chain entries."""

    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.repo = MongoRepository(db["records"], Mapper(Record, record_fields), kommun)
        self.kommun = kommun

    def outboxes(self) -> Sequence[Outbox]:
        return [self.repo.outbox]

    async def create_indexes(self) -> None:
        await self.repo.create_indexes()
        coll = self.repo.collection
        await coll.create_index([("kommun", 1), ("account_id", 1), ("origin_at", 1)])
        await coll.create_index([("kommun", 1), ("awaits_registration", 1)])
        await coll.create_index([("kommun", 1), ("kind", 1), ("state", 1)])

    async def get(self, record_id: str) -> Record | None:
        found = await self.repo.get(record_id)
        return found.item if found else None

    async def for_account(self, account_id: str, limit: int = 500) -> list[Record]:
        found = await self.repo.find({"account_id": account_id}, "first_at", limit)
        return [v.item for v in found]

    async def of_account_by_id(self, account_id: str) -> AsyncIterator[Record]:
        """One account's records in id order (verify merges them with the chain)."""
        cursor = self.repo.collection.find(self.repo.scoped({"account_id": account_id})).sort(
            "_id", ASCENDING
        )
        async for doc in cursor:
            yield self.repo.versioned(doc).item

    async def counts(self) -> dict[str, dict[str, int]]:
        """Records by kind and state (`unknown` before the item's own event is kept)."""
        counts: dict[str, dict[str, int]] = {}
        for kind in RecordKind:
            for state in (*(s.value for s in PlatformState), UNKNOWN):
                n = await self.repo.collection.count_documents(
                    self.repo.scoped({"kind": kind.value, "state": state})
                )
                counts.setdefault(kind.value, {})[state] = int(n)
        return counts

    async def awaiting_registration(self, limit: int = 500) -> list[Record]:
        """P10.3: confidential records not yet registered (must stay none)."""
        found = await self.repo.find({"awaits_registration": True}, "first_at", limit)
        return [v.item for v in found]

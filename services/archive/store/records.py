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

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.archive.domain import chain
from services.archive.domain.chain import Anchor, Entry
from services.archive.domain.records import Fact, PlatformState, Record, RecordKind
from services.archive.domain.search import UNKNOWN, record_fields
from shared.outbox import Outbox
from shared.store import Document, MongoRepository, count
from shared.unit_of_work import Mapper

# Appends racing for one account's next place: more than this many losses in a row is
# not contention but a fault.
APPEND_ATTEMPTS = 50
# The longest pause after a race lost to another replica is ten times this.
RACE_PAUSE_SECONDS = 0.01


@dataclass(frozen=True)
class _Append:
    fact: Fact
    now: datetime
    done: "asyncio.Future[Entry]"


def _link(entry: Entry) -> Anchor:
    return Anchor(entry.kommun, entry.account_id, entry.seq, entry.hash)


def _duplicates_only(exc: BulkWriteError) -> bool:
    """The ordered insert stopped at a duplicate key (code 11000), nothing else."""
    errors = exc.details.get("writeErrors") or []
    return bool(errors) and all(e.get("code") == 11000 for e in errors)


class ChainStore:
    """One kommun's hash chains, one per account."""

    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.collection = db["entries"]
        self.heads = db["chain_heads"]
        self.kommun = kommun
        self.mapper = Mapper(Entry)
        # One writer per account at a time; what arrives meanwhile waits to go along.
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, list[_Append]] = {}
        # Each account's head as this process last wrote or read it: a stale one (another
        # replica appended) costs one refused insert and a fresh read.
        self._heads: dict[str, Anchor] = {}

    async def create_indexes(self) -> None:
        await self.collection.create_index([("kommun", 1), ("event_id", 1)], unique=True)
        await self.collection.create_index([("kommun", 1), ("account_id", 1), ("seq", 1)])
        # Single fields for what is read per comment: a record's few entries, a fact
        # delivered again. nx-27017 uses no compound index (README, "Store").
        await self.collection.create_index("record_id")
        await self.collection.create_index("event_id")
        await self.collection.create_index(
            [("kommun", 1), ("account_id", 1), ("record_id", 1), ("seq", 1)]
        )
        await self.heads.create_index([("kommun", 1), ("account_id", 1)])

    async def by_event(self, event_id: str) -> Entry | None:
        doc = await self.collection.find_one({"kommun": self.kommun, "event_id": event_id})
        return self.mapper.from_document(doc) if doc else None

    async def head(self, account_id: str) -> Entry | None:
        """The account's last entry, read from the chain itself (verify's and tests' view;
        appending reads the anchor instead: this sorted read grows with the chain on
        nx-27017)."""
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
        before for the same event.

        Facts of one account arriving together (a consumer's batch is handled
        concurrently) are appended by one writer in one `insert_many`: the chain is a
        sequence, and appending each alone made them race for the same place."""
        waiting = self._waiting.setdefault(fact.account_id, [])
        mine: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        waiting.append(_Append(fact, now, mine))
        async with self._lock(fact.account_id):
            if not mine.done():  # nobody took it along: append what waits, this included
                batch = self._waiting.pop(fact.account_id, [])
                try:
                    await self._append(fact.account_id, batch)
                except BaseException as exc:
                    for left in batch:  # those it took along fail with it (and retry)
                        if left.done.done():
                            continue
                        if isinstance(exc, asyncio.CancelledError):
                            left.done.cancel()
                        else:
                            left.done.set_exception(exc)
                    raise
        return mine.result()

    def _lock(self, account_id: str) -> asyncio.Lock:
        return self._locks.setdefault(account_id, asyncio.Lock())

    async def _append(self, account_id: str, batch: list["_Append"]) -> None:
        lost = 0
        for _ in range(APPEND_ATTEMPTS):
            if not batch:
                return
            head = self._heads.get(account_id) or await self._read_head(account_id)
            entries: list[Entry] = []
            for item in batch:
                entries.append(
                    chain.append(self.kommun, entries[-1] if entries else head, item.fact, item.now)
                )
            try:
                await self.collection.insert_many(
                    [self.mapper.to_document(e) for e in entries], ordered=True
                )
                inserted = len(entries)
            except BulkWriteError as exc:
                inserted = int(exc.details.get("nInserted", 0))
                if not _duplicates_only(exc):
                    raise
            for item, entry in zip(batch[:inserted], entries[:inserted], strict=True):
                item.done.set_result(entry)
            if inserted:
                self._heads[account_id] = _link(entries[inserted - 1])
                await self._anchor(entries[inserted - 1])
            if inserted == len(batch):
                return
            # entries[inserted] was refused: its fact was kept before (a redelivery), or
            # another replica took its place in the chain.
            refused = batch[inserted]
            if (found := await self.by_event(refused.fact.event_id)) is not None:
                await self._anchor(found)  # a crash may have come before its anchor
                refused.done.set_result(found)
                batch = batch[inserted + 1 :]
            else:
                self._heads.pop(account_id, None)  # read the head again
                batch = batch[inserted:]
                # Another replica is appending to this account too: give way a little,
                # longer each time, so that one of the two gets a run of batches in.
                lost += 1
                pause = random.uniform(0, RACE_PAUSE_SECONDS * min(lost, 10))  # noqa: S311
                await asyncio.sleep(pause)
        raise RuntimeError(f"entries: could not append to account {account_id}'s chain")

    async def _read_head(self, account_id: str) -> Anchor | None:
        """The account's last place and hash: its anchor, followed by place (an `_id`
        read each) past any entry kept after it. A chain kept before anchors existed
        has none: its head is read from the chain."""
        head = await self.anchor(account_id)
        if head is None:
            entry = await self.head(account_id)
            return _link(entry) if entry is not None else None
        while True:
            after = chain.entry_id(self.kommun, account_id, head.seq + 1)
            doc = await self.collection.find_one(
                {"_id": after, "kommun": self.kommun}, {"seq": 1, "hash": 1}
            )
            if doc is None:
                return head
            head = Anchor(self.kommun, account_id, int(doc["seq"]), str(doc["hash"]))

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
        return await count(self.collection, query)


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
        # Single fields as well: nx-27017 uses no compound index (README, "Store"), and the
        # five-minute sweeps' reads of the few account records and of those still to be
        # registered (P10.3, P10.5) read every record without them (issue 13).
        await coll.create_index("kind")
        await coll.create_index("awaits_registration")

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
                n = await self.repo.count({"kind": kind.value, "state": state})
                counts.setdefault(kind.value, {})[state] = n
        return counts

    async def awaiting_registration(self, limit: int = 500) -> list[Record]:
        """P10.3: confidential records not yet registered (must stay none)."""
        found = await self.repo.find({"awaits_registration": True}, "first_at", limit)
        return [v.item for v in found]

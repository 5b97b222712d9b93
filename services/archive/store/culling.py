"""Legal holds and the culling log (P10.2, L6, L7), and the writes culling makes to the
chain and the records: the only ones outside services.archive.handlers.records.keep.

`holds` are versioned: lifting one is a change, never a delete. `culling_log` holds one
document per rule, account and run (in parts of at most `LOG_PART` records, far below
the store's document size): the account is a scalar field, so the entries the log lists
for an account are found by an indexed equality (nx-27017 answers element equality on
an indexed array wrongly, README "Store"). Neither is ever culled.

Every query shape used here is in tests/integration/test_store_conformance.py
(test_archive_culling_query_shapes).
"""

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.archive.domain.chain import Entry
from services.archive.domain.culling import CullLog, Hold
from services.archive.domain.records import Record
from services.archive.domain.search import record_fields
from shared.kommun import RetentionRule
from shared.outbox import Outbox
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper

# Records in one culling log document, at most.
LOG_PART = 1000
# Candidates read from the store at a time.
PAGE = 500


def _hold_fields(hold: Hold) -> dict[str, Any]:
    # A flag always written, never a null to query (README, "Store").
    return {"in_force": hold.in_force}


def _log_fields(log: CullLog) -> dict[str, Any]:
    return {"finished": log.finished_at is not None, "fingerprint": log.fingerprint}


class CullingStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.db = db
        self.kommun = kommun
        self.holds = MongoRepository(
            db["holds"], Mapper(Hold, _hold_fields), kommun, request_keys=True
        )
        self.log = MongoRepository(db["culling_log"], Mapper(CullLog, _log_fields), kommun)
        # Culling's own access to the records and the chain (store.records owns them).
        self._records = db["records"]
        self._record_mapper = Mapper(Record, record_fields)
        self._entries = db["entries"]
        self._entry_mapper = Mapper(Entry)

    async def create_indexes(self) -> None:
        await self.holds.create_indexes()
        await self.log.create_indexes()
        await self.holds.collection.create_index([("kommun", 1), ("in_force", 1)])
        await self.holds.collection.create_index([("kommun", 1), ("set_at", 1)])
        await self.log.collection.create_index([("kommun", 1), ("account_id", 1)])
        await self.log.collection.create_index([("kommun", 1), ("finished", 1)])
        await self.log.collection.create_index([("kommun", 1), ("culled_at", 1)])
        # One log for one piece of work, however many replicas plan it.
        await self.log.collection.create_index([("kommun", 1), ("fingerprint", 1)], unique=True)
        # Candidates by age: a record's first fact is never later than when it was
        # written, so `first_at` before the cutoff finds every record old enough.
        await self._records.create_index([("kommun", 1), ("first_at", 1)])

    def outboxes(self) -> Sequence[Outbox]:
        return [self.holds.outbox, self.log.outbox]

    # Holds

    async def holds_in_force(self) -> list[Hold]:
        return [v.item for v in await self.holds.find({"in_force": True}, "set_at")]

    async def all_holds(self) -> list[Hold]:
        return [v.item for v in await self.holds.find({}, "set_at")]

    # The log

    async def culled_entries(self, account_id: str) -> dict[str, str]:
        """Entry id → hash of every chain entry of the account the culling log lists."""
        culled: dict[str, str] = {}
        cursor = self.log.collection.find(
            self.log.scoped({"account_id": account_id}), {"entries": 1}
        )
        async for doc in cursor:
            culled |= {e["id"]: e["hash"] for e in doc.get("entries") or ()}
        return culled

    async def unfinished(self) -> list[CullLog]:
        """Logs whose records a crash may have left standing."""
        return [v.item for v in await self.log.find({"finished": False}, "culled_at")]

    async def newest(self, limit: int) -> list[CullLog]:
        """Newest first; of one run, the last written first (ids sort by time)."""
        cursor = (
            self.log.collection.find(self.log.scoped({}))
            .sort([("culled_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [self.log.versioned(doc).item async for doc in cursor]

    # Candidates

    async def candidates(
        self, rule: RetentionRule, before: datetime
    ) -> AsyncIterator[list[Record]]:
        """Pages of records the rule's fields and age may match: the domain decides."""
        query: Document = {"first_at": {"$lt": before}}
        for field, values in (
            ("kind", rule.kinds),
            ("account_id", rule.accounts),
            ("origin", rule.origins),
            ("state", rule.states),
        ):
            if values:
                query[field] = {"$in": list(values)}
        after = ""
        while True:
            page_query = self._scoped(query | {"_id": {"$gt": after}})
            cursor = self._records.find(page_query).sort("_id", ASCENDING).limit(PAGE)
            page = [self._record_mapper.from_document(doc) async for doc in cursor]
            if not page:
                return
            yield page
            if len(page) < PAGE:
                return
            after = page[-1].id

    # What culling writes

    async def tombstone(self, entry_id: str, entry_hash: str, log_id: str) -> bool:
        """The entry's fact removed, its place and hashes kept (domain.chain); whether it
        is a tombstone of this log now. Written whole: nx-27017 keeps a datetime written
        by $set as text (README, "Store")."""
        doc = await self._entries.find_one(self._scoped({"_id": entry_id, "hash": entry_hash}))
        if doc is None:
            return False
        entry = self._entry_mapper.from_document(doc)
        if entry.fact is None:
            return entry.culled_by == log_id
        tombstone = self._entry_mapper.to_document(replace(entry, fact=None, culled_by=log_id))
        result = await self._entries.replace_one(
            self._scoped({"_id": entry_id, "hash": entry_hash}), tombstone
        )
        return result.matched_count == 1

    async def delete_record(self, record_id: str, version: int) -> bool:
        """The record gone, if still at `version` (a fact kept meanwhile changes it)."""
        result = await self._records.delete_one(
            self._scoped({"_id": record_id, "version": version})
        )
        return result.deleted_count == 1

    def _scoped(self, query: Document) -> Document:
        return {**query, "kommun": self.kommun}

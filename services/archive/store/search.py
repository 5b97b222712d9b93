"""Searches and exports for requests for public records, and their log (L4).

Query shapes (each in tests/integration/test_store_conformance.py): equality on the
record's scalar fields and derived query fields (domain.search.record_fields), a range on
`dated`, `$all` on the derived word arrays (never element equality: nx-27017 answers it
wrongly on an indexed array), pages after (dated, _id) by `$or`, sorted by both; records
and chain entries fetched by `_id` `$in`; top-level projections only.
"""

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.archive.domain.records import Record
from services.archive.domain.search import Cursor, Filters, record_fields
from shared.outbox import Outbox
from shared.store import Document
from shared.unit_of_work import Mapper

ORDER = [("dated", ASCENDING), ("_id", ASCENDING)]
# Records read per round trip in an export: each round trip stays well inside the
# store's operation timeout (shared.store) however many records go out.
BATCH = 500
ID_SLICE = 5_000  # ids read per round trip
ENTRY_FIELDS = {"_id": 1, "record_id": 1, "seq": 1, "content_sha256": 1, "hash": 1}


class SearchStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.db = db
        self.kommun = kommun
        self.records = db["records"]
        self.entries = db["entries"]
        self.log = db["access_log"]
        self.mapper = Mapper(Record, record_fields)

    async def create_indexes(self) -> None:
        await self.records.create_index([("kommun", 1), ("account_id", 1), ("dated", 1)])
        await self.records.create_index([("kommun", 1), ("dated", 1)])
        # Multikey on MongoDB; nx-27017 has none and scans (bench/archive_search.py).
        await self.records.create_index([("kommun", 1), ("words", 1)])
        await self.records.create_index([("kommun", 1), ("open_words", 1)])
        await self.log.create_index([("kommun", 1), ("at", 1)])

    def outboxes(self) -> Sequence[Outbox]:
        return []

    def query(self, filters: Filters, *, registrar: bool) -> Document:
        query: Document = {"kommun": self.kommun}
        if filters.account_id is not None:
            query["account_id"] = filters.account_id
        dated: Document = {}
        if filters.since is not None:
            dated["$gte"] = filters.since
        if filters.until is not None:
            dated["$lt"] = filters.until
        if dated:
            query["dated"] = dated
        for name, value in (
            ("author_kind", filters.author_kind),
            ("state", filters.state),
            ("kind", filters.kind),
            ("origin_kind", filters.origin),
        ):
            if value is not None:
                query[name] = value.value
        if filters.words:
            # L7: only the registrar finds records by words others see masked.
            query["words" if registrar else "open_words"] = {"$all": list(filters.words)}
        return query

    def _after(self, query: Document, after: Cursor | None) -> Document:
        if after is None:
            return query
        return {
            **query,
            "$or": [
                {"dated": {"$gt": after.dated}},
                {"dated": after.dated, "_id": {"$gt": after.record_id}},
            ],
        }

    async def page(
        self, filters: Filters, after: Cursor | None, limit: int, *, registrar: bool
    ) -> list[Record]:
        """One page in (dated, id) order, after the cursor."""
        query = self._after(self.query(filters, registrar=registrar), after)
        cursor = self.records.find(query).sort(ORDER).limit(limit)
        return [self.mapper.from_document(doc) async for doc in cursor]

    async def ids(self, filters: Filters, limit: int, *, registrar: bool) -> list[str]:
        """Up to `limit` matching record ids in (dated, id) order (an export's set), read
        a slice per round trip so that none outlasts the store's operation timeout."""
        query = self.query(filters, registrar=registrar)
        found: list[str] = []
        after: Cursor | None = None
        while len(found) < limit:
            want = min(ID_SLICE, limit - len(found))
            cursor = self.records.find(self._after(query, after), {"_id": 1, "dated": 1})
            docs = [doc async for doc in cursor.sort(ORDER).limit(want)]
            found += [doc["_id"] for doc in docs]
            if len(docs) < want:
                break
            after = Cursor(docs[-1]["dated"], docs[-1]["_id"])
        return found

    async def by_ids(self, ids: Sequence[str]) -> AsyncIterator[Record]:
        """The records, in the order given, a batch per round trip."""
        for i in range(0, len(ids), BATCH):
            batch = list(ids[i : i + BATCH])
            found: dict[str, Record] = {}
            async for doc in self.records.find({"kommun": self.kommun, "_id": {"$in": batch}}):
                found[doc["_id"]] = self.mapper.from_document(doc)
            for record_id in batch:
                if record_id in found:  # culled meanwhile: gone from the export too
                    yield found[record_id]

    async def hashes(self, records: Sequence[Record]) -> dict[str, list[Document]]:
        """Each record's chain entries (id, seq, SHA-256 of the content and of the link),
        in chain order: the hashes `kanalvakt archive verify` checks (P3.7b)."""
        wanted = [entry for record in records for entry in record.entries]
        found: dict[str, Document] = {}
        for i in range(0, len(wanted), BATCH):
            query = {"kommun": self.kommun, "_id": {"$in": wanted[i : i + BATCH]}}
            async for doc in self.entries.find(query, ENTRY_FIELDS):
                found[doc["_id"]] = doc
        hashes: dict[str, list[Document]] = {}
        for record in records:
            kept = [found[e] for e in record.entries if e in found]
            hashes[record.id] = [
                {
                    "entry": doc["_id"],
                    "seq": doc["seq"],
                    "content_sha256": doc["content_sha256"],
                    "hash": doc["hash"],
                }
                for doc in sorted(kept, key=lambda d: int(d["seq"]))
            ]
        return hashes

    # The access log (L4): who asked what, when, and how many records they got.

    async def logged(self, entry: Document) -> None:
        await self.log.insert_one({**entry, "kommun": self.kommun})

    async def access_log(self, before: datetime | None, limit: int) -> list[Document]:
        """Newest first."""
        query: Document = {"kommun": self.kommun}
        if before is not None:
            query["at"] = {"$lt": before}
        cursor = self.log.find(query).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [doc async for doc in cursor]

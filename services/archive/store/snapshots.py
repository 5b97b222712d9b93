"""PDF/A snapshots of accounts, with their SHA-256 (P10.5, L8).

One document per snapshot in `snapshots`, the PDF's bytes in its top-level `pdf` field
(BSON binary) beside what is known of it; the document carries its `snapshot.created`
event in its outbox. A document is at most 16 MB: the handler keeps the file under
MAX_PDF_BYTES. Lists never load the bytes (a top-level exclusion, which nx-27017 answers
right). The id is made from the snapshot's key, so a second add of one is AlreadyExists.

The posts and comments a snapshot shows are read from `records` here, by account and the
time each was first kept, newest first (an index of this store's own on that collection).

Every query shape used here is in tests/integration/test_store_conformance.py.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.archive.domain.records import Record, RecordKind
from services.archive.domain.snapshots import Snapshot
from shared.outbox import Outbox
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper

# MongoDB's limit is 16 MiB a document: the file, its metadata and its outbox must fit.
MAX_PDF_BYTES = 15 * 1024 * 1024

WITHOUT_FILE = {"pdf": 0}


@dataclass(frozen=True)
class SnapshotFile(Snapshot):
    """A snapshot with its file, as stored."""

    pdf: bytes = b""


class SnapshotStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.db = db
        self.kommun = kommun
        self.repo = MongoRepository(db["snapshots"], Mapper(SnapshotFile), kommun)
        self.info_mapper = Mapper(Snapshot)
        self.records = db["records"]
        self.record_mapper = Mapper(Record)

    async def create_indexes(self) -> None:
        await self.repo.create_indexes()
        coll = self.repo.collection
        await coll.create_index([("kommun", 1), ("account_id", 1), ("taken_at", 1)])
        await coll.create_index([("kommun", 1), ("taken_at", 1)])
        # An account's recent posts and comments, newest first (non-unique: harmless
        # beside the record store's own indexes).
        await self.records.create_index([("kommun", 1), ("account_id", 1), ("first_at", 1)])

    def outboxes(self) -> Sequence[Outbox]:
        return [self.repo.outbox]

    def _scoped(self, query: Document) -> Document:
        return {**query, "kommun": self.kommun}

    async def exists(self, snapshot_id: str) -> bool:
        found = await self.repo.collection.find_one(self._scoped({"_id": snapshot_id}), {"_id": 1})
        return found is not None

    async def info(self, snapshot_id: str) -> Snapshot | None:
        """What is known of a snapshot, without its file."""
        doc = await self.repo.collection.find_one(self._scoped({"_id": snapshot_id}), WITHOUT_FILE)
        return self.info_mapper.from_document(doc) if doc else None

    async def file(self, snapshot_id: str) -> tuple[Snapshot, bytes] | None:
        doc = await self.repo.collection.find_one(self._scoped({"_id": snapshot_id}))
        if doc is None:
            return None
        return self.info_mapper.from_document(doc), bytes(doc["pdf"])

    async def find(self, account_id: str | None = None, limit: int = 500) -> list[Snapshot]:
        """Snapshots, newest first, of one account or all; never their files."""
        query: dict[str, Any] = {} if account_id is None else {"account_id": account_id}
        cursor = (
            self.repo.collection.find(self._scoped(query), WITHOUT_FILE)
            .sort("taken_at", DESCENDING)
            .limit(limit)
        )
        return [self.info_mapper.from_document(doc) async for doc in cursor]

    async def last_taken(self, account_id: str) -> datetime | None:
        cursor = (
            self.repo.collection.find(self._scoped({"account_id": account_id}), {"taken_at": 1})
            .sort("taken_at", DESCENDING)
            .limit(1)
        )
        async for doc in cursor:
            taken: datetime = doc["taken_at"]
            return taken
        return None

    async def accounts(self) -> list[Record]:
        """Every account's record (its plan and the account's history)."""
        cursor = self.records.find(self._scoped({"kind": RecordKind.ACCOUNT.value}))
        return [self.record_mapper.from_document(doc) async for doc in cursor]

    async def recent(self, account_id: str, since: datetime, limit: int) -> list[Record]:
        """The account's posts and comments first kept at or after `since`, newest first."""
        query = {
            "account_id": account_id,
            "kind": {"$in": [RecordKind.POST.value, RecordKind.COMMENT.value]},
            "first_at": {"$gte": since},
        }
        cursor = self.records.find(self._scoped(query)).sort("first_at", DESCENDING).limit(limit)
        return [self.record_mapper.from_document(doc) async for doc in cursor]

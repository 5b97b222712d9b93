"""The archive's own database: records, nothing else."""

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.archive.domain import Origin, Record, RecordKind
from shared.outbox import Outbox
from shared.store import Document, insert_once


def _from_doc(doc: dict[str, Any]) -> Record:
    return Record(
        id=doc["_id"],
        kind=RecordKind(doc["kind"]),
        origin=Origin(doc["origin"]),
        account_id=doc["account_id"],
        title=doc["title"],
        recorded_at=doc["recorded_at"],
        event_type=doc["event_type"],
        content=doc["content"],
    )


class ArchiveStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._records = db["records"]

    async def create_indexes(self) -> None:
        await self._records.create_index(
            [("account_id", ASCENDING), ("recorded_at", ASCENDING)], name="account_recorded"
        )

    def outboxes(self) -> Sequence[Outbox]:
        return []

    async def keep(self, record: Record) -> bool:
        """Keep a record once; False if it was already kept."""
        doc = asdict(record)
        doc["_id"] = doc.pop("id")
        return await insert_once(self._records, doc)

    async def get(self, record_id: str) -> Record | None:
        doc = await self._records.find_one({"_id": record_id})
        return _from_doc(doc) if doc else None

    async def for_account(self, account_id: str, limit: int = 500) -> list[Record]:
        cursor = (
            self._records.find({"account_id": account_id})
            .sort("recorded_at", ASCENDING)
            .limit(limit)
        )
        return [_from_doc(doc) async for doc in cursor]

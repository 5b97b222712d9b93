"""MongoDB plumbing shared by the services' stores (PyMongo's native async API).

Kept to query shapes that real MongoDB and the local nx-27017 answer alike:
string ids, single-document atomic writes, no transactions (README, "Store").
"""

from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.clock import Clock, utcnow

Document = dict[str, Any]

# Longer than the events stream keeps messages (90 days), so any redelivery is caught.
PROCESSED_EVENTS_TTL = timedelta(days=180)


def connect(url: str, timeout_ms: int = 10_000) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        url,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        appname="kanalvakt",
    )


async def ping(db: AsyncDatabase[Document]) -> bool:
    try:
        await db.command("ping")
    except PyMongoError:
        return False
    return True


class ProcessedEvents:
    """Which event ids a consumer has handled, so a redelivered event changes nothing."""

    def __init__(self, db: AsyncDatabase[Document], clock: Clock = utcnow) -> None:
        self._coll = db["processed_events"]
        self._clock = clock

    async def create_indexes(self) -> None:
        await self._coll.create_index(
            "handled_at",
            name="processed_events_ttl",
            expireAfterSeconds=int(PROCESSED_EVENTS_TTL.total_seconds()),
        )

    @staticmethod
    def _key(consumer: str, event_id: str) -> str:
        return f"{consumer}:{event_id}"

    async def seen(self, consumer: str, event_id: str) -> bool:
        return await self._coll.find_one({"_id": self._key(consumer, event_id)}) is not None

    async def mark(self, consumer: str, event_id: str) -> None:
        await self._coll.update_one(
            {"_id": self._key(consumer, event_id)},
            {
                "$setOnInsert": {
                    "consumer": consumer,
                    "event_id": event_id,
                    "handled_at": self._clock(),
                }
            },
            upsert=True,
        )


async def insert_once(coll: AsyncCollection[Document], doc: Document) -> bool:
    """Insert unless a document with this `_id` exists: True if this call inserted it.

    Handlers key what they write by the event id, so a redelivered event is a no-op
    even if it slipped past ProcessedEvents (a crash between the write and the mark).
    """
    try:
        await coll.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True

"""Escalations awaiting acknowledgement (P5.6, P5.8): which are due to climb the ladder,
which nobody has acknowledged yet (the gauges), and the list staff read.

Query fields derived from the escalation and written with it (shared.unit_of_work
Mapper): `waiting` (nobody acknowledged) and `climbs` (waiting with a level left), so no
query compares with null, which nx-27017 answers differently from MongoDB (README,
"Store"). Shapes pinned in tests/integration/test_store_conformance.py.
"""

from datetime import datetime

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.domain.acks import Escalation
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper

# At most this many escalations in one list answer or one ladder pass.
PAGE_LIMIT = 500


def _derived(escalation: Escalation) -> Document:
    waiting = escalation.acknowledged_at is None
    return {"waiting": waiting, "climbs": waiting and escalation.next_level_at is not None}


class EscalationStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.repo = MongoRepository(db["escalations"], Mapper(Escalation, _derived), kommun)

    async def create_indexes(self) -> None:
        await self.repo.create_indexes()
        coll = self.repo.collection
        # Single fields: nx-27017 uses no compound index (README, "Store"); few climb.
        await coll.create_index("climbs")
        await coll.create_index("waiting")

    async def due(self, now: datetime, limit: int = PAGE_LIMIT) -> list[str]:
        """Ids of escalations whose next level is due and nobody has acknowledged."""
        query = self.repo.scoped({"climbs": True, "next_level_at": {"$lte": now}})
        cursor = (
            self.repo.collection.find(query, {"_id": 1}).sort("next_level_at", ASCENDING)
        ).limit(limit)
        return [doc["_id"] async for doc in cursor]

    async def waiting(self) -> list[tuple[str, datetime]]:
        """(event type, opened at) of every escalation nobody has acknowledged."""
        query = self.repo.scoped({"waiting": True})
        cursor = self.repo.collection.find(query, {"event_type": 1, "opened_at": 1})
        return [(doc["event_type"], doc["opened_at"]) async for doc in cursor]

    async def listed(
        self, *, open_only: bool, before: str | None = None, limit: int = 100
    ) -> list[Escalation]:
        """Newest first (ids are event ids, ULIDs: in time order); `before` an id."""
        query: Document = {"waiting": True} if open_only else {}
        if before is not None:
            query["_id"] = {"$lt": before}
        cursor = self.repo.collection.find(self.repo.scoped(query)).sort("_id", DESCENDING)
        return [self.repo.versioned(doc).item async for doc in cursor.limit(limit)]

"""Events whose routing waits for notify's directory (owned by routing): the open ones,
oldest first.

`open` is a query field derived from the item and written with it (shared.unit_of_work
Mapper), so no query compares with null, which nx-27017 answers differently from
MongoDB (README, "Store"). Shape pinned in tests/integration/test_store_conformance.py.
"""

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.domain.routing import Waiting
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper, Versioned

# At most this many waiting events looked at in one pass; the rest on the next.
PAGE_LIMIT = 500


def _derived(item: Waiting) -> Document:
    return {"open": item.open}


class WaitingStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.repo = MongoRepository(db["routing_waits"], Mapper(Waiting, _derived), kommun)

    async def create_indexes(self) -> None:
        await self.repo.create_indexes()
        # A single field: nx-27017 uses no compound index (README, "Store").
        await self.repo.collection.create_index("open")

    async def open(self, limit: int = PAGE_LIMIT) -> list[Versioned[Waiting]]:
        """The events still waiting to be routed, oldest first."""
        return await self.repo.find({"open": True}, sort="since", limit=limit)

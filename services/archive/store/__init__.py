"""The archive's own database, one kommun's at a time: the hash chains and the records
folded from them (records), the diarium (diarium), holds and the culling log (culling),
snapshots (snapshots) and the log of requests for public records (search)."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase

from services.archive.store.culling import CullingStore
from services.archive.store.diarium import DiariumStore
from services.archive.store.records import ChainStore, RecordStore
from services.archive.store.search import SearchStore
from services.archive.store.snapshots import SnapshotStore
from shared.outbox import Outbox
from shared.store import Document


class ArchiveStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.kommun = kommun
        self.chain = ChainStore(db, kommun)
        self.records = RecordStore(db, kommun)
        self.diarium = DiariumStore(db, kommun)
        self.culling = CullingStore(db, kommun)
        self.snapshots = SnapshotStore(db, kommun)
        self.search = SearchStore(db, kommun)

    async def create_indexes(self) -> None:
        for part in (
            self.chain,
            self.records,
            self.diarium,
            self.culling,
            self.snapshots,
            self.search,
        ):
            await part.create_indexes()

    def outboxes(self) -> Sequence[Outbox]:
        parts = (self.records, self.diarium, self.culling, self.snapshots)
        return [outbox for part in parts for outbox in part.outboxes()]

"""Notify's own database, one kommun's per store: notifications (the delivery log), the
escalations awaiting acknowledgement, and its read model of accounts. It never reads
another service's database."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.store.directory import DirectoryStore
from services.notify.store.escalations import EscalationStore
from services.notify.store.notifications import NotificationStore
from shared.outbox import Outbox
from shared.store import Document


class NotifyStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.kommun = kommun
        self.notifications = NotificationStore(db, kommun)
        self.escalations = EscalationStore(db, kommun)
        self.directory = DirectoryStore(db, kommun)

    async def create_indexes(self) -> None:
        await self.notifications.create_indexes()
        await self.escalations.create_indexes()
        await self.directory.create_indexes()

    def outboxes(self) -> Sequence[Outbox]:
        return [
            self.notifications.repo.outbox,
            self.escalations.repo.outbox,
            self.directory.accounts.outbox,
        ]

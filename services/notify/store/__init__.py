"""Notify's own database, one kommun's per store: notifications (the delivery log), the
escalations awaiting acknowledgement, its read model of accounts, and the events whose
routing waits for that read model. It never reads another service's database."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.store.directory import DirectoryStore
from services.notify.store.escalations import EscalationStore
from services.notify.store.notifications import NotificationStore
from services.notify.store.waiting import WaitingStore
from shared.outbox import Outbox
from shared.store import Document


class NotifyStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.kommun = kommun
        self.notifications = NotificationStore(db, kommun)
        self.escalations = EscalationStore(db, kommun)
        self.directory = DirectoryStore(db, kommun)
        self.waiting = WaitingStore(db, kommun)

    async def create_indexes(self) -> None:
        await self.notifications.create_indexes()
        await self.escalations.create_indexes()
        await self.directory.create_indexes()
        await self.waiting.create_indexes()

    def outboxes(self) -> Sequence[Outbox]:
        return [
            self.notifications.repo.outbox,
            self.escalations.repo.outbox,
            self.directory.accounts.outbox,
            self.waiting.repo.outbox,
        ]

"""Notify's own database: notifications and their delivery status, nothing else."""

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.notify.domain import Notification, Status
from shared.outbox import Outbox
from shared.store import Document, insert_once


def _from_doc(doc: dict[str, Any]) -> Notification:
    fields = {k: v for k, v in doc.items() if k != "_id"}
    return Notification(id=doc["_id"], **fields | {"status": Status(doc["status"])})


class NotifyStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._notifications = db["notifications"]

    async def create_indexes(self) -> None:
        await self._notifications.create_index([("event_id", ASCENDING)], name="event_id")
        await self._notifications.create_index(
            [("status", ASCENDING), ("created_at", ASCENDING)], name="status_created"
        )

    def outboxes(self) -> Sequence[Outbox]:
        return []

    async def record(self, notification: Notification) -> bool:
        doc = asdict(notification)
        doc["_id"] = doc.pop("id")
        doc["status"] = notification.status.value
        return await insert_once(self._notifications, doc)

    async def list(self, event_id: str | None = None, limit: int = 200) -> list[Notification]:
        query = {"event_id": event_id} if event_id else {}
        cursor = self._notifications.find(query).sort("created_at", DESCENDING).limit(limit)
        return [_from_doc(doc) async for doc in cursor]

"""Notifications and their attempts: what is due, the claim that lets one replica send
each, and the delivery log's pages.

`send_from` is derived from the notification and written with it (shared.unit_of_work
Mapper): when it may next be sent, in epoch milliseconds (due, and no replica's claim on
it), far off when it will not be sent. So the delivery pass is one range, sorted and
limited, on one index: nx-27017 scans every document for `$in`, `$or` or `$type`, uses no
compound index (README, "Store"), and answers a range on a *date* by reading every
candidate whole: a storm left 29,400 e-mails waiting, and the pass, every five seconds,
held the store 1.5 s each time (issue 13). On a number it sorts and stops in SQLite."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.domain.delivery import SENDABLE, claimable, claimed
from services.notify.domain.notifications import Notification
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper, StaleWrite, Versioned

# How many due notifications one delivery pass takes; the rest wait for the next pass.
DUE_BATCH = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(at: datetime) -> int:
    """Whole milliseconds, rounded down as the store rounds a date: a time read back from
    it compares with this number as the time did before it was stored."""
    return (at - EPOCH) // timedelta(milliseconds=1)


# `send_from` of a notification that will not be sent again (sent, failed, cancelled).
NEVER = epoch_ms(datetime(9999, 12, 31, tzinfo=UTC))


def _derived(notification: Notification) -> dict[str, Any]:
    if notification.status not in SENDABLE:
        return {"send_from": NEVER}
    claim_ends = notification.claimed_until or notification.due_at
    return {"send_from": epoch_ms(max(notification.due_at, claim_ends))}


class NotificationStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.repo = MongoRepository(db["notifications"], Mapper(Notification, _derived), kommun)

    async def create_indexes(self) -> None:
        await self.repo.create_indexes()
        coll = self.repo.collection
        await coll.create_index([("kommun", 1), ("event_id", 1)])
        await coll.create_index("send_from")
        # The log's order; `_id` stays out: in a compound index nx-27017 fails every insert.
        await coll.create_index([("kommun", 1), ("created_at", -1)])

    async def log(
        self, filters: "LogFilters", after: tuple[datetime, str] | None, limit: int
    ) -> list[Notification]:
        """One page of the delivery log, newest first by (created_at, id), after the last
        item of the page before (shapes in tests/integration/test_store_conformance.py,
        test_notify_escalation_and_delivery_log_shapes)."""
        query = filters.query()
        if after is not None:
            at, last_id = after
            page_on = {
                "$or": [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": last_id}}]
            }
            query = {"$and": [query, page_on]} if "$or" in query else query | page_on
        cursor = self.repo.collection.find(self.repo.scoped(query))
        cursor = cursor.sort([("created_at", -1), ("_id", -1)]).limit(limit)
        return [self.repo.versioned(doc).item async for doc in cursor]

    async def due(self, now: datetime, limit: int = DUE_BATCH) -> list[Versioned[Notification]]:
        """Pending or held notifications due by `now` that no replica is sending (never
        claimed, or its claim ran out), the longest sendable first."""
        query = {"send_from": {"$lte": epoch_ms(now)}}
        found = await self.repo.find(query, sort="send_from", limit=limit)
        # The same rule again in Python: what the query answered is what may be claimed.
        return [v for v in found if claimable(v.item, now)]

    async def claim(
        self, found: Versioned[Notification], now: datetime, lease: timedelta
    ) -> Versioned[Notification] | None:
        """This replica's to send until `now + lease`, or None when another replica
        claimed (or changed) it since it was read: one conditional write on the version
        read, so of two replicas racing exactly one wins (issue 11: sent once)."""
        if not claimable(found.item, now):
            return None
        item = claimed(found.item, now, lease)
        try:
            version = await self.repo.save(item, found.version, kept=found.kept)
        except StaleWrite:
            return None
        # No events, no key: what was kept beside it is as it was read.
        return Versioned(item, version, found.handled, found.kept)


@dataclass(frozen=True)
class LogFilters:
    """What the delivery log is searched by; None: any."""

    event_id: str | None = None
    event_type: str | None = None
    recipient: str | None = None  # e-mail or name, exactly
    channel: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    level: int | None = None

    def query(self) -> Document:
        equal = {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "level": self.level,
            "channel": self.channel,
            "status": self.status,
        }
        query: Document = {name: value for name, value in equal.items() if value is not None}
        window: Document = {}
        if self.since is not None:
            window["$gte"] = self.since
        if self.until is not None:
            window["$lt"] = self.until
        if window:
            query["created_at"] = window
        if self.recipient is not None:
            query["$or"] = [{"recipient.email": self.recipient}, {"recipient.name": self.recipient}]
        return query

"""Transactional outbox without transactions: an entity's pending events live in the
entity's own document, written in the same single-document write as the change.

After the write the events are published and pulled from the document; a sweep re-sends
whatever a crash or a NATS outage left behind. A re-send is harmless: JetStream drops
it by Nats-Msg-Id within the duplicate window, and consumers are idempotent anyway.

Every such document carries a `version`, raised by every write, the outbox's own
included, and every write is conditional on the version it read (optimistic
concurrency): two writers, or two replicas, can never both apply a change on the same
version, so an event is queued once and a sent one is never queued again.
"""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from shared.bus.publisher import EventPublisher
from shared.events import BY_SUBJECT, Event

log = logging.getLogger("kanalvakt.outbox")

# A flag present only while events wait, not `{"outbox.0": {"$exists": true}}`: it keeps
# the sweep query indexable and within what every supported store answers correctly.
# It is removed with $unset, never set to false (nx-27017 reads a $set false back as 0).
PENDING = "outbox_pending"


class StaleWrite(Exception):
    """The document changed since it was read: read it again and redo the change."""


def _entries(events: Sequence[Event]) -> list[dict[str, Any]]:
    return [{"subject": e.nats_subject, "event": e.model_dump(mode="json")} for e in events]


async def insert_with_events(
    coll: AsyncCollection[dict[str, Any]], doc: dict[str, Any], events: Sequence[Event]
) -> None:
    entries = _entries(events)
    pending = {PENDING: True} if entries else {}
    await coll.insert_one(doc | {"version": 1, "outbox": entries} | pending)


async def replace_with_events(
    coll: AsyncCollection[dict[str, Any]],
    doc_id: str,
    version: int,
    doc: dict[str, Any],
    events: Sequence[Event],
) -> int:
    """Replace the document with `doc` and queue `events` if it is still at `version`;
    the new version. `doc` is the whole document but for its id, version and outbox.

    A whole-document replace, not $set or $push: nx-27017 stores a top-level datetime
    written by $set as text and pushed subdocuments as strings (README, "Store").
    """
    current = await coll.find_one({"_id": doc_id, "version": version}, {"outbox": 1})
    if current is None:
        raise StaleWrite(doc_id)
    entries = list(current.get("outbox") or []) + _entries(events)
    pending = {PENDING: True} if entries else {}
    new = doc | {"version": version + 1, "outbox": entries} | pending
    result = await coll.replace_one({"_id": doc_id, "version": version}, new)
    if result.matched_count == 0:
        raise StaleWrite(doc_id)
    return version + 1


class Outbox:
    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self._coll = collection

    async def create_indexes(self) -> None:
        await self._coll.create_index(PENDING, name=f"{PENDING}_idx")

    async def flush(self, doc_id: str, publisher: EventPublisher) -> None:
        doc = await self._coll.find_one({"_id": doc_id, PENDING: True}, {"outbox": 1})
        if doc is not None:
            await self._send(doc, publisher)

    async def sweep(self, publisher: EventPublisher) -> int:
        sent = 0
        async for doc in self._coll.find({PENDING: True}, {"outbox": 1}):
            sent += await self._send(doc, publisher)
        return sent

    async def _send(self, doc: dict[str, Any], publisher: EventPublisher) -> int:
        entries = doc.get("outbox") or []
        for entry in entries:
            event = BY_SUBJECT[entry["subject"]].model_validate(entry["event"])
            await publisher.publish(event)
            await self._coll.update_one(
                {"_id": doc["_id"]},
                {"$pull": {"outbox": {"event.id": event.id}}, "$inc": {"version": 1}},
            )
        # Clear the flag only if nothing new was queued meanwhile. `$size: 0`, not
        # `"outbox": []`: nx-27017 cannot compare with an empty array (README, "Store").
        await self._coll.update_one(
            {"_id": doc["_id"], "outbox": {"$size": 0}},
            {"$unset": {PENDING: ""}, "$inc": {"version": 1}},
        )
        return len(entries)


async def sweep_forever(
    outboxes: Sequence[Outbox], publisher: EventPublisher, interval_seconds: float = 10.0
) -> None:
    while True:
        for outbox in outboxes:
            try:
                await outbox.sweep(publisher)
            except Exception:
                log.exception("outbox sweep failed; trying again in %.0fs", interval_seconds)
        await asyncio.sleep(interval_seconds)

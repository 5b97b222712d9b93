"""Transactional outbox without transactions: an entity's pending events live in the
entity's own document, written in the same single-document write as the change
(shared.store.MongoRepository).

After the write the events are published and pulled from the document; a sweep re-sends
whatever a crash or a NATS outage left behind. A re-send is harmless: JetStream drops
it by Nats-Msg-Id within the duplicate window, and consumers are idempotent anyway.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import nats.errors
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from shared.events import BY_SUBJECT, Event
from shared.logs import OutageLog
from shared.telemetry import continued, current_trace
from shared.unit_of_work import Publisher

log = logging.getLogger("kanalvakt.outbox")

# A flag present only while events wait, not `{"outbox.0": {"$exists": true}}`: it keeps
# the sweep query indexable and within what every supported store answers correctly.
# It is removed with $unset, never set to false (nx-27017 reads a $set false back as 0).
PENDING = "outbox_pending"


def entries(events: Sequence[Event]) -> list[dict[str, Any]]:
    # The trace context of the write goes with each event, so the publish continues the
    # trace that caused it even when the sweep sends it later (shared.telemetry).
    trace = {"trace": carrier} if (carrier := current_trace()) else {}
    return [
        {"subject": e.nats_subject, "event": e.model_dump(mode="json"), **trace} for e in events
    ]


# Failures of the way to NATS or the store, not of a document: the whole sweep waits.
OUTAGES: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    nats.errors.Error,
    PyMongoError,
)


class Outbox:
    """One kommun's pending events in one collection (each repository has its own)."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], kommun: str) -> None:
        self._coll = collection
        self._kommun = kommun
        # What this process has just written, by document id: (version, outbox). The
        # request's own flush then needs no read; the clear is conditional on the version.
        self._written: dict[str, tuple[int, list[dict[str, Any]]]] = {}

    @property
    def kommun(self) -> str:
        return self._kommun

    async def create_indexes(self) -> None:
        await self._coll.create_index(PENDING)

    async def pending(self) -> int:
        """How many events wait to be sent now (kanalvakt_outbox_pending): read from the
        store, so every replica reads the same."""
        waiting = 0
        async for doc in self._coll.find({PENDING: True, "kommun": self._kommun}, {"outbox": 1}):
            waiting += len(doc.get("outbox") or [])
        return waiting

    def written(self, doc_id: str, version: int, outbox: list[dict[str, Any]]) -> None:
        if outbox:
            self._written[doc_id] = (version, outbox)
        else:  # nothing pending now: an older entry would only be sent again
            self._written.pop(doc_id, None)

    async def flush(self, doc_id: str, publisher: Publisher) -> None:
        known = self._written.pop(doc_id, None)
        if known is not None:
            version, outbox = known
            await self._send({"_id": doc_id, "version": version, "outbox": outbox}, publisher)
            return
        doc = await self._coll.find_one(
            {"_id": doc_id, "kommun": self._kommun, PENDING: True}, {"outbox": 1, "version": 1}
        )
        if doc is not None:
            await self._send(doc, publisher)

    async def flush_all(self, doc_ids: Sequence[str], publisher: Publisher) -> None:
        """What these documents' writes just queued, sent together: each document's
        events in order, the documents side by side, then cleared in one write per
        version. A document written meanwhile is sent again from the store (a re-send is
        dropped by JetStream's duplicate window)."""
        known = {i: self._written.pop(i) for i in doc_ids if i in self._written}
        for doc_id in doc_ids:
            if doc_id not in known:
                await self.flush(doc_id, publisher)
        if not known:
            return

        async def send(outbox: list[dict[str, Any]]) -> None:
            for entry in outbox:
                await _publish(entry, publisher)

        await asyncio.gather(*(send(outbox) for _, outbox in known.values()))
        by_version: dict[int, list[str]] = {}
        for doc_id, (version, _) in known.items():
            by_version.setdefault(version, []).append(doc_id)
        for version, ids in by_version.items():
            mine = {"_id": {"$in": ids}, "kommun": self._kommun, "version": version}
            cleared = await self._coll.update_many(
                mine,
                {"$set": {"outbox": []}, "$unset": {PENDING: ""}, "$inc": {"version": 1}},
            )
            if cleared.matched_count < len(ids):  # some were written meanwhile
                still = {"_id": {"$in": ids}, "kommun": self._kommun, PENDING: True}
                async for doc in self._coll.find(still, {"outbox": 1, "version": 1}):
                    await self._send(doc, publisher)

    async def sweep(self, publisher: Publisher) -> int:
        """Send what waits. A document whose entries cannot be sent for a reason of their
        own is logged and passed over, so it never holds up the others; an outage (NATS
        or the store away) ends the sweep and the next one tries again."""
        self._written.clear()  # what a skipped flush left: the store says what is pending
        sent = 0
        pending = {PENDING: True, "kommun": self._kommun}
        async for doc in self._coll.find(pending, {"outbox": 1, "version": 1}):
            try:
                sent += await self._send(doc, publisher)
            except OUTAGES:
                raise
            except Exception:
                log.exception("outbox of %s in %s cannot be sent", doc["_id"], self._coll.name)
        return sent

    async def _send(self, doc: dict[str, Any], publisher: Publisher) -> int:
        entries = doc.get("outbox") or []
        for entry in entries:
            await _publish(entry, publisher)
        # All sent: clear them in one write if nobody wrote since they were read.
        mine = {"_id": doc["_id"], "kommun": self._kommun}
        cleared = await self._coll.update_one(
            mine | {"version": doc["version"]},
            {"$set": {"outbox": []}, "$unset": {PENDING: ""}, "$inc": {"version": 1}},
        )
        if cleared.matched_count == 0:  # written meanwhile: keep what the other write queued
            sent = [entry["event"]["id"] for entry in entries]
            await self._coll.update_one(
                mine,
                {"$pull": {"outbox": {"event.id": {"$in": sent}}}, "$inc": {"version": 1}},
            )
            # `$size: 0`, not `"outbox": []`: nx-27017 cannot compare with an empty array
            # (README, "Store").
            await self._coll.update_one(
                mine | {"outbox": {"$size": 0}},
                {"$unset": {PENDING: ""}, "$inc": {"version": 1}},
            )
        return len(entries)


async def _publish(entry: dict[str, Any], publisher: Publisher) -> None:
    event = BY_SUBJECT[entry["subject"]].model_validate(entry["event"])
    with continued(entry.get("trace")):
        await publisher.publish(event)


# How often the sweep runs while events are likely waiting: during and just after an
# outage (a NATS restart leaves events of every request made meanwhile; they should not
# wait for the next ordinary pass). Not merely because a pass found some: under load a
# pass finds events their request is about to send, and sending them again costs.
HURRIED_SECONDS = 1.0


async def sweep_forever(
    outboxes: Sequence[Outbox],
    publisher: Publisher,
    interval_seconds: float = 10.0,
    hurry: Callable[[], bool] = lambda: False,
) -> None:
    """Every `interval_seconds`, or every second while `hurry()` (inline publishing is
    paused or was lately) or after a pass that failed."""
    outage = OutageLog(log, "outbox sweep")
    while True:
        try:
            for outbox in outboxes:
                await outbox.sweep(publisher)
        except Exception as exc:
            outage.failed(exc, f"retrying every {HURRIED_SECONDS:.0f}s")
            await asyncio.sleep(HURRIED_SECONDS)
            continue
        outage.works()
        await asyncio.sleep(HURRIED_SECONDS if hurry() else interval_seconds)


async def pending_by_kommun(outboxes: Sequence[Outbox], kommuner: Iterable[str]) -> dict[str, int]:
    """Events waiting in all of a service's outboxes, per kommun (0 for one with none)."""
    waiting = dict.fromkeys(kommuner, 0)
    for outbox in outboxes:
        waiting[outbox.kommun] = waiting.get(outbox.kommun, 0) + await outbox.pending()
    return waiting

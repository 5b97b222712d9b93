"""Events written with their entity survive a failed publish: the sweep sends them."""

import contextlib

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import Event
from shared.outbox import Outbox, StaleWrite, insert_with_events, replace_with_events
from shared.store import Document
from tests.helpers import account_created


class FlakyPublisher:
    def __init__(self) -> None:
        self.up = False
        self.sent: list[str] = []

    async def publish(self, event: Event) -> None:
        if not self.up:
            raise ConnectionError("NATS unreachable")
        self.sent.append(event.id)


async def test_pending_events_are_sent_by_the_sweep_once_nats_is_back(
    db: AsyncDatabase[Document],
) -> None:
    coll = db["accounts"]
    outbox = Outbox(coll)
    await outbox.create_indexes()
    first, second = account_created(), account_created()
    await insert_with_events(coll, {"_id": "acc", "name": "x"}, [first])
    assert await replace_with_events(coll, "acc", 1, {"name": "y"}, [second]) == 2
    with pytest.raises(StaleWrite):
        await replace_with_events(coll, "acc", 1, {"name": "z"}, [])
    publisher = FlakyPublisher()
    with contextlib.suppress(ConnectionError):
        await outbox.flush("acc", publisher)  # type: ignore[arg-type]
    assert publisher.sent == []
    publisher.up = True
    assert await outbox.sweep(publisher) == 2  # type: ignore[arg-type]
    assert publisher.sent == [first.id, second.id]
    assert await outbox.sweep(publisher) == 0  # type: ignore[arg-type]
    doc = await coll.find_one({"_id": "acc"})
    assert doc is not None
    assert doc["name"] == "y"
    assert doc["outbox"] == []
    assert "outbox_pending" not in doc
    assert doc["version"] > 2, "the outbox's own writes raise the version"

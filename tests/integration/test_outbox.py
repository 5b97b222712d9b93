"""Events written with their entity survive a failed publish: the sweep sends them."""

import contextlib
from dataclasses import dataclass, replace

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import Event
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper, StaleWrite
from tests.helpers import KOMMUN, account_created


class FlakyPublisher:
    def __init__(self) -> None:
        self.up = False
        self.sent: list[str] = []

    async def publish(self, event: Event) -> None:
        if not self.up:
            raise ConnectionError("NATS unreachable")
        self.sent.append(event.id)


@dataclass(frozen=True)
class Thing:
    id: str
    name: str
    kommun: str = KOMMUN


async def test_pending_events_are_sent_by_the_sweep_once_nats_is_back(
    db: AsyncDatabase[Document],
) -> None:
    repo = MongoRepository(db["things"], Mapper(Thing), KOMMUN)
    await repo.create_indexes()
    first, second = account_created(), account_created()
    await repo.add(Thing("acc", "x"), [first])
    assert await repo.save(Thing("acc", "y"), 1, [second]) == 2
    with pytest.raises(StaleWrite):
        await repo.save(Thing("acc", "z"), 1)
    publisher = FlakyPublisher()
    with contextlib.suppress(ConnectionError):
        await repo.announce("acc", publisher)
    assert publisher.sent == []
    publisher.up = True
    assert await repo.outbox.sweep(publisher) == 2
    assert publisher.sent == [first.id, second.id]
    assert await repo.outbox.sweep(publisher) == 0
    doc = await db["things"].find_one({"_id": "acc"})
    assert doc is not None
    assert doc["name"] == "y"
    assert doc["outbox"] == []
    assert "outbox_pending" not in doc
    assert doc["version"] > 2, "the outbox's own writes raise the version"


async def test_a_key_is_recorded_with_the_change_and_a_retry_finds_the_first_add(
    db: AsyncDatabase[Document],
) -> None:
    repo = MongoRepository(db["things"], Mapper(Thing), KOMMUN, request_keys=True)
    await repo.create_indexes()
    first = await repo.add(Thing("a", "x"), key="POST /things k1")
    again = await repo.add(Thing("b", "other"), key="POST /things k1")
    assert again.item == first.item == Thing("a", "x")
    assert await db["things"].count_documents({}) == 1
    await repo.save(replace(first.item, name="y"), 1, key="evt-1")
    found = await repo.get("a")
    assert found is not None
    assert found.handled == ("evt-1",)


async def test_a_flush_after_another_write_clears_only_what_it_sent(
    db: AsyncDatabase[Document],
) -> None:
    here = MongoRepository(db["things"], Mapper(Thing), KOMMUN)
    there = MongoRepository(db["things"], Mapper(Thing), KOMMUN)  # another replica
    await here.create_indexes()
    first, second = account_created(), account_created()
    await here.add(Thing("acc", "x"), [first])
    await there.save(Thing("acc", "y"), 1, [second])  # before `here` flushed
    publisher = FlakyPublisher()
    publisher.up = True
    await here.announce("acc", publisher)
    assert publisher.sent == [first.id]
    doc = await db["things"].find_one({"_id": "acc"})
    assert doc is not None
    assert [e["event"]["id"] for e in doc["outbox"]] == [second.id], "the other write's event waits"
    assert doc["outbox_pending"]
    await there.announce("acc", publisher)
    # `there` queued both: the first is sent again, which JetStream drops by Nats-Msg-Id.
    assert publisher.sent[-1] == second.id
    assert set(publisher.sent) == {first.id, second.id}
    doc = await db["things"].find_one({"_id": "acc"})
    assert doc is not None
    assert doc["outbox"] == []
    assert "outbox_pending" not in doc


async def test_a_document_whose_events_cannot_be_sent_does_not_hold_up_the_others(
    db: AsyncDatabase[Document], caplog: pytest.LogCaptureFixture
) -> None:
    repo = MongoRepository(db["things"], Mapper(Thing), KOMMUN)
    await repo.create_indexes()
    good = account_created()
    broken = {"subject": "no.such.subject", "event": {"id": "x"}}
    await db["things"].insert_one(
        {
            "_id": "a-broken",
            "kommun": KOMMUN,
            "name": "x",
            "version": 1,
            "outbox": [broken],
            "outbox_pending": True,
        }
    )
    await repo.add(Thing("b-good", "y"), [good])
    publisher = FlakyPublisher()
    publisher.up = True
    await repo.outbox.sweep(publisher)
    assert publisher.sent == [good.id], "the broken document comes first and is passed over"
    assert "a-broken" in caplog.text


# Issue 8: a repository is one kommun's; nothing of another kommun's crosses into it.


async def test_a_repository_reads_and_writes_its_own_kommuns_documents_only(
    db: AsyncDatabase[Document],
) -> None:
    nora = MongoRepository(db["things"], Mapper(Thing), "nora", request_keys=True)
    other = MongoRepository(db["things"], Mapper(Thing), "vasterby", request_keys=True)
    await nora.create_indexes()
    await nora.add(Thing("n1", "x", "nora"), [account_created(kommun="nora")], key="k")
    # The same caller's key in another kommun is another request, not the first's result.
    added = await other.add(Thing("v1", "y", "vasterby"), key="k")
    assert added.item.id == "v1"
    assert await other.get("n1") is None, "another kommun's id is not found"
    assert [v.item.id for v in await other.find({})] == ["v1"]
    assert await other.find_ids({"name": "x"}) == []
    with pytest.raises(StaleWrite):  # its version is not there for this kommun
        await other.save(Thing("n1", "z", "vasterby"), 1)
    with pytest.raises(ValueError, match="not 'vasterby'"):
        await other.add(Thing("n2", "x", "nora"))
    publisher = FlakyPublisher()
    publisher.up = True
    assert await other.outbox.sweep(publisher) == 0, "the other kommun's events stay its own"
    assert await nora.outbox.sweep(publisher) == 1
    found = await nora.get("n1")
    assert found is not None
    assert found.item.name == "x"


async def test_issue_13_a_save_onto_what_was_read_keeps_what_waits_without_reading_it_again(
    db: AsyncDatabase[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every write changes the version, so what was read with it (pending events, keys)
    # is still so when the save's filter on that version matches.
    repo = MongoRepository(db["things"], Mapper(Thing), KOMMUN, request_keys=True)
    await repo.create_indexes()
    first, second = account_created(), account_created()
    await repo.add(Thing("a", "x"), [first], key="POST /things k1")
    found = await repo.get("a")
    assert found is not None
    assert found.kept is not None
    reads: list[object] = []
    find_one = repo.collection.find_one

    async def counted(*args: object, **kwargs: object) -> object:
        reads.append(args)
        return await find_one(*args, **kwargs)

    monkeypatch.setattr(repo.collection, "find_one", counted)
    item = replace(found.item, name="y")
    assert await repo.save(item, found.version, [second], key="evt-1", kept=found.kept) == 2
    assert reads == []
    with pytest.raises(StaleWrite):  # what was read is stale now: refused, not merged
        await repo.save(replace(item, name="z"), found.version, kept=found.kept)
    monkeypatch.undo()
    doc = await db["things"].find_one({"_id": "a"})
    assert doc is not None
    assert (doc["name"], doc["version"]) == ("y", 2)
    assert [e["event"]["id"] for e in doc["outbox"]] == [first.id, second.id]
    assert (doc["handled"], doc["request_key"]) == (["evt-1"], "POST /things k1")

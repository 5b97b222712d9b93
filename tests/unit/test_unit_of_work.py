"""The unit of work's own promises, in memory: one mapping round trip, keys recorded with
the change, and a NATS outage that neither slows requests nor floods the log."""

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from enum import StrEnum

import pytest

from shared.events import Event
from shared.unit_of_work import InMemoryRepository, Mapper, RecordingPublisher, UnitOfWork
from tests.helpers import account_created


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Thing:
    id: str
    at: datetime
    day: date
    opens: time
    colour: Colour
    tags: frozenset[str] = frozenset()
    parts: tuple[str, ...] = ()
    extra: dict[str, list[int]] = field(default_factory=dict)
    kommun: str = "nora"


THING = Thing(
    "t1",
    datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
    date(2026, 11, 26),
    time(8, 0),
    Colour.RED,
    frozenset({"b", "a"}),
    ("x", "y"),
    {"n": [1, 2]},
)


def test_the_mapper_writes_what_bson_stores_and_reads_the_same_object_back() -> None:
    mapper = Mapper(Thing, lambda t: {"colour_key": t.colour.value.upper()})
    doc = mapper.to_document(THING)
    assert doc == {
        "_id": "t1",
        "at": THING.at,
        "day": "2026-11-26",
        "opens": "08:00:00",
        "colour": "red",
        "tags": ["a", "b"],
        "parts": ["x", "y"],
        "extra": {"n": [1, 2]},
        "kommun": "nora",
        "colour_key": "RED",
    }
    assert mapper.from_document(doc | {"version": 3, "outbox": []}) == THING


class AwayPublisher(RecordingPublisher):
    def __init__(self) -> None:
        super().__init__()
        self.up = False
        self.tries = 0

    async def publish(self, event: Event) -> None:
        self.tries += 1
        if not self.up:
            raise ConnectionError("NATS unreachable")
        await super().publish(event)


@dataclass
class Ticks:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_nats_outage_warns_once_skips_inline_publishing_and_says_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    repo = InMemoryRepository(Mapper(Thing), "nora")
    publisher, ticks = AwayPublisher(), Ticks()
    uow = UnitOfWork(publisher, ticks)
    caplog.set_level(logging.WARNING, "kanalvakt.unit_of_work")
    for i in range(20):
        await uow.add(
            repo, THING.__class__(**{**THING.__dict__, "id": f"t{i}"}), [account_created()]
        )
    assert publisher.tries == 1, "after the first failure, requests do not wait for NATS"
    assert len(caplog.records) == 1
    ticks.now += UnitOfWork.PAUSE_SECONDS + 1
    publisher.up = True
    await uow.add(repo, replace(THING, id="t-after"), [account_created()])
    assert len(publisher.published) == 1
    assert [r.getMessage() for r in caplog.records][-1] == "publishing works again"
    assert len(caplog.records) == 2


async def test_many_adds_in_one_write_announce_the_new_ones_only() -> None:
    # A connector's batch (services.moderation.handlers.ingest): each keyed by its id.
    repo: InMemoryRepository[Thing] = InMemoryRepository(Mapper(Thing), "nora")
    publisher = RecordingPublisher()
    uow = UnitOfWork(publisher)
    events = {i: account_created() for i in ("a", "b", "c")}
    await uow.add(repo, replace(THING, id="b"), [events["b"]])
    adds = [(replace(THING, id=i), [events[i]]) for i in ("a", "b", "c")]
    assert await uow.add_all(repo, adds) == [True, False, True]
    assert publisher.published == [events["b"], events["a"], events["c"]]

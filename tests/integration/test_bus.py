"""The bus on a real nats-server with JetStream and a real store: acknowledged publishing,
de-duplication, idempotent handling, dead letters and retries.

A check that something did not happen (a second handling, a dead letter) waits until the
consumer has settled every message up to a marker published after the action, then
reads the dead-letter stream to its end: never a short fetch that a late message beats.
"""

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext
from pymongo.asynchronous.database import AsyncDatabase

from shared.bus import EventPublisher, EventRouter, InvalidEvent
from shared.bus.broker import make_broker
from shared.bus.streams import DLQ_STREAM, EVENTS_STREAM
from shared.events import AccountCreated
from shared.ids import new_id
from shared.settings import ServiceName, Settings
from shared.store import Document, HandledMarks
from tests.helpers import account_created, eventually, read_to_end, settled_through

# The kommuner the test's deployment serves.
SERVED = frozenset({"nora", "vasterby"})


@dataclass
class Bus:
    publisher: EventPublisher
    js: JetStreamContext
    handled: list[str] = field(default_factory=list)
    durable: str = ""


def _settings(nats_url: str, service: ServiceName, ack_wait: float = 10) -> Settings:
    return Settings(
        service=service,
        nats_url=nats_url,
        bus_pull_batch=10,
        bus_retry_delay_seconds=0.2,
        bus_retry_max_delay_seconds=1.0,
        bus_ack_wait_seconds=ack_wait,
    )


@asynccontextmanager
async def bus(
    nats_url: str,
    db: AsyncDatabase[Document],
    behaviour: Callable[[AccountCreated, int], Any],
    ack_wait: float = 10,
) -> AsyncIterator[Bus]:
    """A registry-like publisher and an archive-like consumer with its own durable."""
    processed = HandledMarks(db)
    producer = EventRouter(ServiceName.REGISTRY)
    producer.publishes(AccountCreated)
    consumer = EventRouter(ServiceName.ARCHIVE)
    durable = f"test-{new_id()}"
    attempts: dict[str, int] = {}
    state = Bus(publisher=None, js=None, durable=durable)  # type: ignore[arg-type]

    @consumer.on(AccountCreated, durable=durable)
    async def handle(event: AccountCreated) -> None:
        attempts[event.id] = attempts.get(event.id, 0) + 1
        if inspect.isawaitable(done := behaviour(event, attempts[event.id])):
            await done
        state.handled.append(event.id)

    built_producer = producer.build(_settings(nats_url, ServiceName.REGISTRY))
    built_consumer = consumer.build(_settings(nats_url, ServiceName.ARCHIVE, ack_wait))
    brokers = [
        make_broker(
            _settings(nats_url, ServiceName.REGISTRY), built_producer, processed, SERVED, {}
        ),
        make_broker(
            _settings(nats_url, ServiceName.ARCHIVE, ack_wait),
            built_consumer,
            processed,
            SERVED,
            {},
        ),
    ]
    for broker in brokers:
        await broker.start()
    nc = await nats.connect(nats_url)
    state.publisher, state.js = built_producer.publisher, nc.jetstream()
    try:
        yield state
    finally:
        await nc.close()
        for broker in brokers:
            await broker.stop()


def _ok(event: AccountCreated, attempt: int) -> None:
    pass


async def _dead_letters(js: JetStreamContext, consumer: str) -> list[Any]:
    """Every dead letter of account.created from `consumer` that the DLQ stream holds."""
    letters = await read_to_end(js, "dlq.account.created.*", DLQ_STREAM)
    return [m for m in letters if (m.headers or {}).get("Kanalvakt-Dlq-Consumer") == consumer]


async def _settle(b: Bus) -> None:
    """Publish a marker and wait until the consumer has settled it and everything before
    it: from then on, nothing published earlier can still be handled or dead-lettered."""
    marker = account_created(name="marker")
    ack = await b.publisher.publish(marker)
    await eventually(
        lambda: settled_through(b.js, EVENTS_STREAM, b.durable, ack.seq),
        what="everything up to the marker settled",
    )
    assert marker.id in b.handled


async def test_publish_is_acknowledged_and_a_resent_event_is_dropped(
    nats_url: str, db: AsyncDatabase[Document]
) -> None:
    async with bus(nats_url, db, _ok) as b:
        event = account_created()
        first = await b.publisher.publish(event)
        again = await b.publisher.publish(event)
        assert not first.duplicate
        assert again.duplicate
        assert again.seq == first.seq
        await eventually(lambda: _async(event.id in b.handled), what="event handled")
        await _settle(b)
        assert b.handled.count(event.id) == 1


async def _async(value: bool) -> bool:
    return value


async def test_redelivered_event_changes_nothing(
    nats_url: str, db: AsyncDatabase[Document]
) -> None:
    async with bus(nats_url, db, _ok) as b:
        event = account_created()
        body = event.model_dump_json().encode()
        # Two copies past JetStream's de-duplication, as after a producer's crash and restart.
        for copy in ("a", "b"):
            await b.js.publish(
                "account.created.nora", body, headers={"Nats-Msg-Id": f"{event.id}{copy}"}
            )
        await _settle(b)
        assert b.handled.count(event.id) == 1
        assert await _dead_letters(b.js, b.durable) == [], "a duplicate is no dead letter"
        info = await b.js.consumer_info(EVENTS_STREAM, b.durable)
        assert info.config.max_deliver == -1


async def test_invalid_event_is_dead_lettered_with_reason_and_original_bytes(
    nats_url: str, db: AsyncDatabase[Document]
) -> None:
    async with bus(nats_url, db, _ok) as b:
        bad = json.loads(account_created().model_dump_json())
        bad["data"]["platform"] = "myspace"
        del bad["data"]["unit"]
        raw = json.dumps(bad).encode()
        await b.js.publish("account.created.nora", raw, headers={"Nats-Msg-Id": new_id()})
        await _settle(b)  # the service keeps working
        letters = await _dead_letters(b.js, b.durable)
        mine = [m for m in letters if m.data == raw]
        assert len(mine) == 1, "exactly one dead letter, with the original bytes"
        reason = mine[0].headers["Kanalvakt-Dlq-Reason"]
        assert "data.platform" in reason
        assert "data.unit" in reason
        assert "AccountCreated" in reason
        assert mine[0].headers["Kanalvakt-Dlq-Subject"] == "account.created.nora"
        assert mine[0].subject == "dlq.account.created.nora"
        assert bad["id"] not in b.handled  # and terminated: a nak would hold up _settle


async def test_body_that_is_not_json_is_dead_lettered(
    nats_url: str, db: AsyncDatabase[Document]
) -> None:
    async with bus(nats_url, db, _ok) as b:
        raw = b"\xff not json " + new_id().encode()
        await b.js.publish("account.created.nora", raw, headers={"Nats-Msg-Id": new_id()})
        await eventually(
            lambda: _has_letter(b.js, b.durable, raw), what="non-JSON body dead-lettered"
        )


async def _has_letter(js: JetStreamContext, durable: str, raw: bytes) -> bool:
    return any(m.data == raw for m in await _dead_letters(js, durable))


async def test_handler_refusal_is_dead_lettered_not_retried(
    nats_url: str, db: AsyncDatabase[Document]
) -> None:
    refused = account_created(name="refused")

    def refuse(event: AccountCreated, attempt: int) -> None:
        if event.id == refused.id:
            raise InvalidEvent("data.account_id: unknown account (P3.6)")

    async with bus(nats_url, db, refuse) as b:
        await b.publisher.publish(refused)
        await _settle(b)
        body = refused.model_dump_json().encode()
        [letter] = [m for m in await _dead_letters(b.js, b.durable) if m.data == body]
        assert "unknown account (P3.6)" in letter.headers["Kanalvakt-Dlq-Reason"]
        assert refused.id not in b.handled


async def test_a_handler_slower_than_the_ack_wait_is_not_redelivered_meanwhile(
    nats_url: str, db: AsyncDatabase[Document]
) -> None:
    # A short ack wait lets JetStream resend soon what a killed process held (issue 13);
    # a handler that is merely slow (the store busy) says it is still working.
    slow = account_created(name="slow")

    attempts: set[str] = set()

    async def take_long(event: AccountCreated, attempt: int) -> None:
        attempts.add(event.id)
        if event.id == slow.id:
            await asyncio.sleep(3.5)

    async with bus(nats_url, db, take_long, ack_wait=1.2) as b:
        await b.publisher.publish(slow)
        await eventually(lambda: _async(slow.id in attempts), what="slow handler started")
        # A second replica asking meanwhile gets nothing: the message is not resent.
        replica = await b.js.pull_subscribe_bind(durable=b.durable, stream=EVENTS_STREAM)
        with pytest.raises(nats.errors.TimeoutError):
            await replica.fetch(1, timeout=2.5)
        await _settle(b)
        assert b.handled.count(slow.id) == 1
        info = await b.js.consumer_info(EVENTS_STREAM, b.durable)
        assert info.num_redelivered == 0


async def test_transient_failure_is_retried_until_it_works(
    nats_url: str, db: AsyncDatabase[Document]
) -> None:
    flaky = account_created(name="flaky")

    def fail_twice(event: AccountCreated, attempt: int) -> None:
        if event.id == flaky.id and attempt <= 2:
            raise ConnectionError("store unreachable")

    async with bus(nats_url, db, fail_twice) as b:
        await b.publisher.publish(flaky)
        await eventually(lambda: _async(flaky.id in b.handled), what="handled after retries")
        await _settle(b)
        assert b.handled.count(flaky.id) == 1
        letters = await _dead_letters(b.js, b.durable)
        assert not [m for m in letters if flaky.id.encode() in m.data], "never dead-lettered"


# Issue 8: every event carries its kommun, in its body and as its subject's last token.


async def test_a_subscriber_may_take_one_kommuns_events_only(
    nats_url: str, db: AsyncDatabase[Document]
) -> None:
    async with bus(nats_url, db, _ok) as b:
        nora, vasterby = account_created(kommun="nora"), account_created(kommun="vasterby")
        for event in (nora, vasterby):
            ack = await b.publisher.publish(event)
            assert not ack.duplicate
        await eventually(
            lambda: _async({nora.id, vasterby.id} <= set(b.handled)),
            what="a consumer of every kommun handles both",
        )
        only = await read_to_end(b.js, "*.*.vasterby", EVENTS_STREAM)
        ids = {json.loads(m.data)["id"] for m in only}
        assert vasterby.id in ids
        assert nora.id not in ids
        assert {json.loads(m.data)["kommun"] for m in only} == {"vasterby"}
        [mine] = [m for m in only if json.loads(m.data)["id"] == vasterby.id]
        assert mine.subject == "account.created.vasterby"
        assert mine.headers["ce-kommun"] == "vasterby"


async def test_an_event_on_another_kommuns_subject_or_of_a_kommun_not_served_is_dead_lettered(
    nats_url: str, db: AsyncDatabase[Document]
) -> None:
    async with bus(nats_url, db, _ok) as b:
        misfiled = account_created(kommun="nora")
        stranger = account_created(kommun="lindesberg")
        sent = {
            "account.created.vasterby": misfiled.model_dump_json().encode(),
            "account.created.lindesberg": stranger.model_dump_json().encode(),
        }
        for subject, raw in sent.items():
            await b.js.publish(subject, raw, headers={"Nats-Msg-Id": new_id()})
        await _settle(b)
        letters = await _dead_letters(b.js, b.durable)
        reasons = {
            m.subject: m.headers["Kanalvakt-Dlq-Reason"] for m in letters if m.data in sent.values()
        }
        assert "the event is of kommun 'nora'" in reasons["dlq.account.created.vasterby"]
        assert "'lindesberg' is not served" in reasons["dlq.account.created.lindesberg"]
        assert misfiled.id not in b.handled
        assert stranger.id not in b.handled

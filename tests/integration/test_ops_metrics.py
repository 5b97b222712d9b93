"""Issue 12: the bus's operational metrics move, on real NATS and the store.

- kanalvakt_dead_letters_total{service, kommun, subject}: each dead letter, from a
  consumer (OutcomeMiddleware) or from an edge (the app's send_dead_letter).
- kanalvakt_outbox_pending{service, kommun}: events written but not yet published.
- kanalvakt_consumer_pending_messages / kanalvakt_consumer_ack_pending_messages
  {service, consumer}: a durable consumer's lag, from consumer_info.
"""

import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client import REGISTRY
from pymongo.asynchronous.database import AsyncDatabase

from kanalvakt.catalog import parts_of
from shared.bus import EventRouter
from shared.bus.broker import make_broker
from shared.bus.outcome import SERVICE_CONTEXT_KEY, dead_letter_labels
from shared.bus.streams import DLQ_STREAM, EVENTS_STREAM
from shared.events import AccountCreated, Event
from shared.ids import new_id
from shared.service import build_service, measure_bus
from shared.settings import ServiceName, Settings
from shared.store import Document, HandledMarks, MongoRepository
from shared.unit_of_work import Mapper
from tests.helpers import KOMMUN, account_created, eventually, read_to_end, service_settings

SERVED = frozenset({"nora", "vasterby"})


async def forget(js: JetStreamContext, seqs: list[int]) -> None:
    """Take a test's invalid or unserved events out of the session's stream once it is
    done with them: a consumer created later reads the stream from its start and would
    dead-letter them as its own."""
    for seq in seqs:
        await js.delete_msg(EVENTS_STREAM, seq)


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _dead_letters(service: str, kommun: str, subject: str) -> float:
    return _value("kanalvakt_dead_letters_total", service=service, kommun=kommun, subject=subject)


@asynccontextmanager
async def archive_like_consumer(nats_url: str, db: AsyncDatabase[Document]) -> AsyncIterator[str]:
    """A consumer of account.created with a durable of its own, as the archive runs it."""
    router = EventRouter(ServiceName.ARCHIVE)
    durable = f"test-{new_id()}"

    @router.on(AccountCreated, durable=durable)
    async def handle(event: AccountCreated) -> None:
        pass

    settings = Settings(service=ServiceName.ARCHIVE, nats_url=nats_url, bus_pull_batch=10)
    built = router.build(settings)
    context = {SERVICE_CONTEXT_KEY: "archive"}
    broker = make_broker(settings, built, HandledMarks(db), SERVED, context)
    await broker.start()
    try:
        yield durable
    finally:
        await broker.stop()


async def test_dead_letters_total_counts_each_dead_letter_by_service_kommun_and_subject(
    nats_url: str, db: AsyncDatabase[Document]
) -> None:
    before_nora = _dead_letters("archive", "nora", "account.created")
    before_unknown = _dead_letters("archive", "unknown", "account.created")
    async with archive_like_consumer(nats_url, db) as durable:
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        try:
            bad = json.loads(account_created().model_dump_json())
            bad["data"]["platform"] = "myspace"  # not the contract: dead-lettered
            raw = json.dumps(bad).encode()
            acks = [
                await js.publish("account.created.nora", raw, headers={"Nats-Msg-Id": new_id()})
            ]
            # A kommun not served: counted under `unknown`, never the raw kommun.
            stranger = account_created(kommun="nowhere")
            body = stranger.model_dump_json().encode()
            acks.append(
                await js.publish(
                    "account.created.nowhere", body, headers={"Nats-Msg-Id": stranger.id}
                )
            )

            async def counted() -> bool:
                return (
                    _dead_letters("archive", "nora", "account.created") > before_nora
                    and _dead_letters("archive", "unknown", "account.created") > before_unknown
                )

            await eventually(counted, what="both dead letters counted")

            async def settled() -> bool:
                info = await js.consumer_info(EVENTS_STREAM, durable)
                return not info.num_pending and not info.num_ack_pending

            await eventually(settled, what="the consumer through the stream")
            # The session's stream may hold earlier tests' invalid events too, which a new
            # durable also dead-letters: one count for each dead letter it published.
            letters = await read_to_end(js, "dlq.account.created.*", DLQ_STREAM)
            ours = [
                (m.headers or {}).get("Kanalvakt-Dlq-Subject", "")
                for m in letters
                if (m.headers or {}).get("Kanalvakt-Dlq-Consumer") == durable
            ]
            assert "account.created.nowhere" in ours
            kommuner = [dead_letter_labels(subject, SERVED)[0] for subject in ours]
            nora = _dead_letters("archive", "nora", "account.created") - before_nora
            unknown = _dead_letters("archive", "unknown", "account.created") - before_unknown
            assert (nora, unknown) == (kommuner.count("nora"), kommuner.count("unknown"))
            await forget(js, [ack.seq for ack in acks])
        finally:
            await nc.close()


@dataclass(frozen=True)
class Thing:
    id: str
    name: str
    kommun: str = KOMMUN


class DownPublisher:
    async def publish(self, event: Event) -> None:
        raise ConnectionError("NATS unreachable")


class UpPublisher:
    async def publish(self, event: Event) -> None:
        pass


async def test_outbox_pending_reads_the_events_waiting_per_kommun(
    nats_url: str, db: AsyncDatabase[Document]
) -> None:
    service = f"svc-{new_id()}"  # a series of this test's own
    nora = MongoRepository(db["things"], Mapper(Thing), "nora")
    vasterby = MongoRepository(db["things"], Mapper(Thing), "vasterby")
    await nora.create_indexes()
    await nora.add(Thing("a", "x"), [account_created(), account_created()])
    await nora.add(Thing("b", "y"), [account_created()])
    with contextlib.suppress(ConnectionError):
        await nora.announce("a", DownPublisher())
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        outboxes = [nora.outbox, vasterby.outbox]
        await measure_bus(service, outboxes, SERVED, js, [])
        assert _value("kanalvakt_outbox_pending", service=service, kommun="nora") == 3
        assert _value("kanalvakt_outbox_pending", service=service, kommun="vasterby") == 0
        assert (
            REGISTRY.get_sample_value(
                "kanalvakt_outbox_pending", {"service": service, "kommun": "vasterby"}
            )
            == 0
        ), "a kommun with nothing waiting has its series, at 0"
        await nora.outbox.sweep(UpPublisher())
        await measure_bus(service, outboxes, SERVED, js, [])
        assert _value("kanalvakt_outbox_pending", service=service, kommun="nora") == 0
    finally:
        await nc.close()


async def test_consumer_pending_and_ack_pending_follow_the_consumers_lag(nats_url: str) -> None:
    service, durable = f"svc-{new_id()}", f"test-{new_id()}"
    kommun = f"k{new_id().lower()}"  # a subject no other test publishes on
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    try:
        sub = await js.pull_subscribe(
            f"account.created.{kommun}",
            durable=durable,
            stream=EVENTS_STREAM,
            config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.NEW),
        )
        seqs = []
        for _ in range(3):
            event = account_created(kommun=kommun)
            body = event.model_dump_json().encode()
            ack = await js.publish(event.address, body, headers={"Nats-Msg-Id": event.id})
            seqs.append(ack.seq)

        def gauges() -> tuple[float, float]:
            labels = {"service": service, "consumer": durable}
            return (
                _value("kanalvakt_consumer_pending_messages", **labels),
                _value("kanalvakt_consumer_ack_pending_messages", **labels),
            )

        await measure_bus(service, [], frozenset(), js, [durable])
        assert gauges() == (3, 0), "three waiting, none delivered"
        fetched = await sub.fetch(2, timeout=5)
        await measure_bus(service, [], frozenset(), js, [durable])
        assert gauges() == (1, 2), "two delivered and not yet acknowledged"
        for msg in fetched:
            await msg.ack_sync()
        rest = await sub.fetch(1, timeout=5)
        await rest[0].ack_sync()
        await measure_bus(service, [], frozenset(), js, [durable])
        assert gauges() == (0, 0), "caught up"
        await js.delete_consumer(EVENTS_STREAM, durable)
        await forget(js, seqs)
    finally:
        await nc.close()


async def test_a_running_service_reads_its_own_consumers_and_counts_an_edges_dead_letters(
    nats_url: str, mongodb_url: str
) -> None:
    settings = service_settings(ServiceName.MODERATION, nats_url, mongodb_url)
    parts = parts_of(ServiceName.MODERATION)
    app = build_service(parts, settings)
    before = _dead_letters("moderation", KOMMUN, "comment.received")
    async with app.router.lifespan_context(app):
        await app.state.measure_bus()
        for sub in parts.events.subscriptions:
            labels = {"service": "moderation", "consumer": sub.durable}
            for name in (
                "kanalvakt_consumer_pending_messages",
                "kanalvakt_consumer_ack_pending_messages",
            ):
                assert REGISTRY.get_sample_value(name, labels) is not None, (name, labels)
        for deps in app.state.deployment:
            labels = {"service": "moderation", "kommun": deps.kommun.id}
            assert REGISTRY.get_sample_value("kanalvakt_outbox_pending", labels) is not None
        # What moderation's webhook does with an item it cannot map (shared.service wires
        # the counting sender).
        headers = {"Nats-Msg-Id": f"dlq:test:{new_id()}", "Kanalvakt-Dlq-Reason": "test"}
        await app.state.send_dead_letter(f"comment.received.{KOMMUN}", b"{}", headers)
        assert _dead_letters("moderation", KOMMUN, "comment.received") == before + 1

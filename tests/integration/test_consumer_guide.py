"""Issue 12: the consumer guide in docs/events.md works as written.

The example subscriber and the NATS server configuration are taken from the committed
document and run: the subscriber on the session's NATS replays an event published before
its durable existed; on a server started from the documented configuration it reads its
kommun's events as the read-only user and may do nothing else.
"""

import asyncio
import importlib.util
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy
from pymongo.asynchronous.database import AsyncDatabase

from kanalvakt.processes import binary, free_port, stop
from shared.bus import EventPublisher, EventRouter
from shared.bus.broker import make_broker
from shared.bus.streams import EVENTS_STREAM
from shared.events import AccountCreated
from shared.ids import new_id
from shared.settings import ServiceName, Settings
from shared.store import Document, HandledMarks
from tests.helpers import ROOT, account_created, eventually

HOST = "127.0.0.1"
GUIDE = ROOT / "docs" / "events.md"


def example(name: str) -> str:
    """The fenced block after `<!-- example: name -->` in the committed docs/events.md."""
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(rf"<!-- example: {re.escape(name)} -->\n```[a-z]*\n(.*?)\n```", text, re.S)
    assert found, f"docs/events.md has no example {name!r}"
    return found.group(1)


@asynccontextmanager
async def producer(nats_url: str, db: AsyncDatabase[Document]) -> AsyncIterator[EventPublisher]:
    """The registry's publishing, which also declares the streams as the services do."""
    router = EventRouter(ServiceName.REGISTRY)
    router.publishes(AccountCreated)
    settings = Settings(service=ServiceName.REGISTRY, nats_url=nats_url)
    built = router.build(settings)
    broker = make_broker(settings, built, HandledMarks(db), frozenset(), {})
    await broker.start()
    try:
        yield built.publisher
    finally:
        await broker.stop()


async def run_subscriber(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp: Path, until: set[str]
) -> list[dict[str, Any]]:
    """The documented subscriber, its `handle` replaced by one that keeps each event, run
    until it has seen every id in `until`."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # Imported as a module of its own, as a subscriber's file would be.
    source = tmp / "subscriber.py"
    source.write_text(example("subscriber.py"), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"consumer_guide_{new_id()}", source)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    seen: list[dict[str, Any]] = []
    stop = asyncio.Event()

    async def handle(event: dict[str, Any]) -> None:
        seen.append(event)
        if until <= {e["id"] for e in seen}:
            stop.set()

    module.handle = handle  # type: ignore[attr-defined]
    task = asyncio.create_task(module.subscribe(stop))
    try:
        await asyncio.wait_for(asyncio.shield(stop.wait()), 20)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    return seen


async def test_the_documented_subscriber_replays_an_event_published_before_it_existed(
    nats_url: str,
    db: AsyncDatabase[Document],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    kommun = f"k{new_id().lower()}"  # subjects no other test publishes on
    durable = f"dw-{kommun}"
    event = account_created(kommun=kommun)
    async with producer(nats_url, db) as publisher:
        ack = await publisher.publish(event)
    env = {"NATS_URL": nats_url, "KOMMUN": kommun, "DURABLE": durable}
    seen = await run_subscriber(env, monkeypatch, tmp_path, {event.id})
    assert [e["id"] for e in seen] == [event.id]
    assert seen[0]["type"] == "se.kanalvakt.account.created.v1"
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.consumer_info(EVENTS_STREAM, durable)
        assert info.config.deliver_policy == DeliverPolicy.BY_START_TIME.value
        assert info.config.filter_subject == f"*.*.{kommun}"
        assert info.num_ack_pending == 0, "acknowledged"
        await js.delete_consumer(EVENTS_STREAM, durable)
        # Its kommun is served nowhere: a consumer created later would dead-letter it.
        await js.delete_msg(EVENTS_STREAM, ack.seq)
    finally:
        await nc.close()


# The documented server configuration's passwords, from the environment as it says.
PASSWORDS = {"KANALVAKT_NATS_PASSWORD": "services-secret", "DW_NORA_NATS_PASSWORD": "dw-secret"}


@pytest.fixture(scope="module")
def guarded_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A nats-server started from the guide's configuration; its URL without a user."""
    data = tmp_path_factory.mktemp("nats-guide")
    config = example("nats-server.conf").replace("/data/jetstream", str(data / "js"))
    conf = data / "nats-server.conf"
    conf.write_text(config, encoding="utf-8")
    port = free_port()
    log = (data / "nats-server.log").open("ab")
    proc = subprocess.Popen(
        [binary("nats-server"), "-c", str(conf), "-a", HOST, "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ | PASSWORDS,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, f"nats-server refused the guide's config: {_tail(data)}"
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            break
        except OSError:
            assert time.monotonic() < deadline, f"nats-server did not start: {_tail(data)}"
            time.sleep(0.1)
    yield f"nats://{HOST}:{port}"
    stop(proc)
    log.close()


def _tail(data: Path) -> str:
    return (data / "nats-server.log").read_text(errors="replace")[-2000:]


def _as(url: str, user: str, password: str) -> str:
    return url.replace("nats://", f"nats://{user}:{password}@")


async def test_the_documented_permissions_let_a_subscriber_read_its_kommuns_events_only(
    guarded_nats: str,
    db: AsyncDatabase[Document],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    services = _as(guarded_nats, "kanalvakt", PASSWORDS["KANALVAKT_NATS_PASSWORD"])
    nora, vasterby = account_created(kommun="nora"), account_created(kommun="vasterby")
    async with producer(services, db) as publisher:
        await publisher.publish(nora)
        await publisher.publish(vasterby)
    env = {
        "NATS_URL": guarded_nats,
        "NATS_USER": "dw-nora",
        "NATS_PASSWORD": PASSWORDS["DW_NORA_NATS_PASSWORD"],
        "KOMMUN": "nora",
    }
    seen = await run_subscriber(env, monkeypatch, tmp_path, {nora.id})
    assert vasterby.id not in {e["id"] for e in seen}

    admin = await nats.connect(services)
    try:
        info = await admin.jetstream().consumer_info(EVENTS_STREAM, "dw-nora")
        assert info.num_ack_pending == 0, "its acknowledgements are permitted"
        assert info.delivered.stream_seq == info.ack_floor.stream_seq
    finally:
        await admin.close()

    refused: list[str] = []

    async def errors(exc: Exception) -> None:
        refused.append(str(exc))

    dw = await nats.connect(
        guarded_nats,
        user="dw-nora",
        password=PASSWORDS["DW_NORA_NATS_PASSWORD"],
        inbox_prefix="_INBOX_dw-nora",
        error_cb=errors,
    )
    try:
        js = dw.jetstream()
        # A wider filter on its own durable, and a durable of another name: the server
        # refuses the publish (reported to error_cb) and the request gets no answer.
        wider = ConsumerConfig(name="dw-nora", durable_name="dw-nora", filter_subject="*.*.*")
        other = ConsumerConfig(name="dw-other", durable_name="dw-other", filter_subject="*.*.nora")
        for config in (wider, other):
            with pytest.raises(nats.errors.TimeoutError):
                await js.add_consumer(EVENTS_STREAM, config, timeout=2)
        await dw.subscribe("account.created.vasterby")  # reading around JetStream
        await dw.publish("account.created.nora", json.dumps({"forged": True}).encode())
        await dw.flush()
        expected = [
            'publish to "$js.api.consumer.create.kanalvakt_events.dw-nora.*.*.*"',
            'publish to "$js.api.consumer.create.kanalvakt_events.dw-other.*.*.nora"',
            'subscription to "account.created.vasterby"',
            'publish to "account.created.nora"',
        ]

        async def all_refused() -> bool:
            text = " ".join(refused).lower()
            return all(f"permissions violation for {what}" in text for what in expected)

        await eventually(all_refused, what=f"permission violations reported: {refused}")
    finally:
        await dw.close()

"""Events per second through the real bus: publish (acknowledged, with Nats-Msg-Id) and
consume (durable pull consumer, contract check, dedup record, handler write) on a local
nats-server and nx-27017, for several pull batch sizes.

    .venv/bin/python bench/bus_throughput.py --events 3000 --batch 1 --batch 100

Numbers depend on the machine; compare runs on the same one. Nothing here is asserted.
"""

import argparse
import asyncio
import tempfile
import time
from contextlib import suppress
from pathlib import Path

from _local import KOMMUN, account_created
from pymongo.errors import DuplicateKeyError

from kanalvakt.processes import free_port, start_nats, start_store, stop
from shared.bus import EventRouter
from shared.bus.broker import make_broker
from shared.events import AccountCreated
from shared.ids import new_id
from shared.settings import ServiceName, Settings
from shared.store import HandledMarks, connect


async def run(nats_url: str, mongodb_url: str, events: int, batch: int) -> tuple[float, float]:
    client = connect(mongodb_url)
    db = client[f"kvbench_{new_id().lower()}"]
    done = asyncio.Event()
    seen = 0

    consumer = EventRouter(ServiceName.ARCHIVE)

    @consumer.on(AccountCreated, durable=f"bench-{new_id()}")
    async def keep(event: AccountCreated) -> None:
        nonlocal seen
        with suppress(DuplicateKeyError):  # keyed by the event id: a redelivery is a no-op
            await db["records"].insert_one({"_id": event.id, "account_id": event.data.account_id})
        seen += 1
        if seen >= events:
            done.set()

    producer = EventRouter(ServiceName.REGISTRY)
    producer.publishes(AccountCreated)
    settings = Settings(service=ServiceName.ARCHIVE, nats_url=nats_url, bus_pull_batch=batch)
    built_producer = producer.build(settings)
    marks = HandledMarks(db)
    await marks.create_indexes()
    pub_broker = make_broker(settings, built_producer, marks, frozenset({KOMMUN}), {})
    await pub_broker.start()

    batch_events = [account_created(i) for i in range(events)]
    start = time.perf_counter()
    for event in batch_events:
        await built_producer.publisher.publish(event)
    publish_rate = events / (time.perf_counter() - start)

    sub_broker = make_broker(settings, consumer.build(settings), marks, frozenset({KOMMUN}), {})
    start = time.perf_counter()
    await sub_broker.start()
    await asyncio.wait_for(done.wait(), timeout=600)
    consume_rate = events / (time.perf_counter() - start)

    await sub_broker.stop()
    await pub_broker.stop()
    await client.drop_database(db.name)
    await client.close()
    return publish_rate, consume_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batch", type=int, action="append", help="repeatable; default 1 and 100")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        nats_port, store_port = free_port(), free_port()
        nats_proc = start_nats(Path(tmp) / "nats", "127.0.0.1", nats_port, free_port())
        store_proc = start_store(Path(tmp) / "store", "127.0.0.1", store_port)
        try:
            print(f"{'batch':>6} {'publish/s':>10} {'consume/s':>10}  ({args.events} events)")
            for batch in args.batch or [1, 100]:
                pub, con = asyncio.run(
                    run(
                        f"nats://127.0.0.1:{nats_port}",
                        f"mongodb://127.0.0.1:{store_port}",
                        args.events,
                        batch,
                    )
                )
                print(f"{batch:>6} {pub:>10.0f} {con:>10.0f}")
        finally:
            stop(store_proc)
            stop(nats_proc)


if __name__ == "__main__":
    main()

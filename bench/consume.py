"""Consuming at the speed of the machine: the services' consuming path against a ceiling
measured in the same run, on the same nats-server and nx-27017 (issue 7).

    .venv/bin/python bench/consume.py --events 20000 --repeat 3

Each repetition starts a fresh nats-server and nx-27017, then:
1. publishes N valid `account.created` events to KANALVAKT_EVENTS the way the registry
   does (acknowledged, with Nats-Msg-Id), all of them before anything consumes;
2. CEILING: a raw nats-py JetStream pull consumer (batch 100) that inserts each message
   into nx-27017 with one PyMongo `insert_one` and acknowledges it, one after the other;
3. PATH: the archive service as `kanalvakt run archive` builds it
   (`build_service(parts_of(ServiceName.ARCHIVE), settings)`), its lifespan run in this
   process, timed from entering the lifespan until its `records` collection holds N
   documents (the count is polled every 0.25 s).

Both read the same N messages from the stream. Printed: both rates, the ratio
path/ceiling and, for each, the rate over the last fifth of events against the first.
With --repeat, the medians. Issue 7 aims at a ratio ≥ 0.6 and a last fifth ≥ 0.8 of the
first. Numbers depend on the machine; nothing here is asserted.
"""

import argparse
import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

import nats
from _local import (
    Fifths,
    Servers,
    account_created,
    code_under_test,
    cpu_seconds,
    fifths_of_counts,
    fifths_of_times,
    interrupt_on_sigterm,
    load_average,
    local_servers,
    median,
)
from faststream.nats import NatsBroker
from pydantic import SecretStr

from kanalvakt.catalog import parts_of
from shared.bus import EventRouter
from shared.bus.streams import EVENTS_STREAM
from shared.events import AccountCreated
from shared.ids import new_id
from shared.logs import configure_logging
from shared.service import build_service
from shared.settings import ServiceName, Settings
from shared.store import connect

SECRET = secrets.token_urlsafe(32)  # local HS256 secret, 32+ characters
BATCH = 100
POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Run:
    publish_rate: float
    ceiling_rate: float
    ceiling_fifths: Fifths
    path_rate: float
    path_fifths: Fifths
    # CPU seconds of nx-27017 per 1,000 events in each phase: where the store's time goes.
    ceiling_store_cpu: float
    path_store_cpu: float

    @property
    def ratio(self) -> float:
        return self.path_rate / self.ceiling_rate


async def publish(servers: Servers, events: int) -> float:
    """Publish through the registry's own publisher; its broker declares the stream the
    way every service does."""
    producer = EventRouter(ServiceName.REGISTRY)
    producer.publishes(AccountCreated)
    built = producer.build(Settings(service=ServiceName.REGISTRY))
    broker = NatsBroker(servers.nats_url)
    broker.include_router(built.router)
    await broker.start()
    try:
        batch = [account_created(i) for i in range(events)]
        start = time.perf_counter()
        for event in batch:
            await built.publisher.publish(event)
        return events / (time.perf_counter() - start)
    finally:
        await broker.stop()


async def ceiling(servers: Servers, events: int) -> tuple[float, Fifths]:
    """Raw nats-py pull (batch 100), one insert_one per message, ack each."""
    nc = await nats.connect(servers.nats_url)
    client = connect(servers.mongodb_url)
    records = client[f"kvbench_ceiling_{new_id().lower()}"]["records"]
    done_at: list[float] = []
    try:
        js = nc.jetstream()
        start = time.perf_counter()
        sub = await js.pull_subscribe(
            f"{AccountCreated.nats_subject}.*", durable="bench-ceiling", stream=EVENTS_STREAM
        )
        while len(done_at) < events:
            for msg in await sub.fetch(BATCH, timeout=5.0):
                body = json.loads(msg.data)
                await records.insert_one({"_id": body["id"], "content": body})
                await msg.ack()
                done_at.append(time.perf_counter())
        rate = events / (done_at[-1] - start)
        return rate, fifths_of_times(done_at, start)
    finally:
        await nc.close()
        await client.close()


async def path(servers: Servers, events: int, limit_seconds: float) -> tuple[float, Fifths]:
    """The archive service's consuming path, until its records hold every event."""
    settings = Settings(
        service=ServiceName.ARCHIVE,
        nats_url=servers.nats_url,
        mongodb_url=servers.mongodb_url,
        mongodb_database=f"kvbench_archive_{new_id().lower()}",
        auth_secret=SecretStr(SECRET),
    )
    app = build_service(parts_of(ServiceName.ARCHIVE), settings)
    client = connect(servers.mongodb_url)
    records = client[settings.database_name]["records"]
    samples: list[tuple[float, int]] = []
    try:
        start = time.perf_counter()
        async with app.router.lifespan_context(app):
            deadline = start + limit_seconds
            count = 0
            while count < events:
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"archive kept {count} of {events} in {limit_seconds:.0f}s")
                await asyncio.sleep(POLL_SECONDS)
                count = await records.estimated_document_count()
                samples.append((time.perf_counter(), count))
        rate = events / (samples[-1][0] - start)
        return rate, fifths_of_counts(samples, events)
    finally:
        await client.close()


async def one_run(servers: Servers, events: int, limit_seconds: float) -> Run:
    publish_rate = await publish(servers, events)
    store_cpu = cpu_seconds(servers.store.pid)
    ceiling_rate, ceiling_fifths = await ceiling(servers, events)
    ceiling_cpu = cpu_seconds(servers.store.pid) - store_cpu
    store_cpu = cpu_seconds(servers.store.pid)
    path_rate, path_fifths = await path(servers, events, limit_seconds)
    path_cpu = cpu_seconds(servers.store.pid) - store_cpu
    per_k = 1000 / events
    return Run(
        publish_rate,
        ceiling_rate,
        ceiling_fifths,
        path_rate,
        path_fifths,
        ceiling_cpu * per_k,
        path_cpu * per_k,
    )


def report(runs: list[Run], events: int) -> None:
    def med(pick: Callable[[Run], float]) -> float:
        return median([pick(r) for r in runs])

    label = "median of " if len(runs) > 1 else ""
    print(f"\n{label}{len(runs)} run(s), {events} events each:")
    print(f"  {'':<34}{'ceiling':>10}{'path':>10}")
    rows: list[tuple[str, Callable[[Run], float], Callable[[Run], float], str]] = [
        ("events/s", lambda r: r.ceiling_rate, lambda r: r.path_rate, "{:>10.0f}"),
        (
            "events/s, first fifth",
            lambda r: r.ceiling_fifths.first,
            lambda r: r.path_fifths.first,
            "{:>10.0f}",
        ),
        (
            "events/s, last fifth",
            lambda r: r.ceiling_fifths.last,
            lambda r: r.path_fifths.last,
            "{:>10.0f}",
        ),
        (
            "last fifth / first fifth",
            lambda r: r.ceiling_fifths.ratio,
            lambda r: r.path_fifths.ratio,
            "{:>10.2f}",
        ),
        (
            "nx-27017 CPU s per 1000 events",
            lambda r: r.ceiling_store_cpu,
            lambda r: r.path_store_cpu,
            "{:>10.2f}",
        ),
    ]
    for name, left, right, fmt in rows:
        print(f"  {name:<34}" + fmt.format(med(left)) + fmt.format(med(right)))
    print(f"  RATIO path/ceiling: {med(lambda r: r.ratio):.2f}   (aim ≥ 0.6)")
    slowing = med(lambda r: r.path_fifths.ratio)
    print(f"  path last fifth / first fifth: {slowing:.2f}   (aim ≥ 0.8)")
    print(f"  (publishing: {med(lambda r: r.publish_rate):.0f} events/s, acknowledged)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per run (≥ 5)")
    parser.add_argument("--repeat", type=int, default=1, help="runs; medians are printed")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds the path may take per run"
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="the services' log level (INFO logs two lines per consumed message)",
    )
    args = parser.parse_args()
    if args.events < 5:
        parser.error("--events must be at least 5")
    configure_logging("bench", args.log_level)
    interrupt_on_sigterm()
    print(f"code: {code_under_test()}; {load_average()}")
    runs: list[Run] = []
    for i in range(args.repeat):
        with local_servers() as servers:
            run = asyncio.run(one_run(servers, args.events, args.timeout))
        runs.append(run)
        print(
            f"run {i + 1}: ceiling {run.ceiling_rate:.0f}/s, path {run.path_rate:.0f}/s, "
            f"ratio {run.ratio:.2f}, path last/first fifth {run.path_fifths.ratio:.2f}; "
            f"{load_average()}",
            flush=True,
        )
    report(runs, args.events)


if __name__ == "__main__":
    main()

"""A comment storm end to end (issue 13): N comments through moderation's ingest
endpoint, each followed to its end — classified, a case where the policy asks one,
escalated if a threat, its record in the archive — against a ceiling measured in the
same run on the same nats-server and nx-27017.

    .venv/bin/python bench/storm.py --comments 2000
    .venv/bin/python bench/storm.py --comments 100000 --rate 500 --json /tmp/storm.json
    .venv/bin/python bench/storm.py --comments 2000 --chaos --keep /tmp/storm-chaos

The stack is started as `kanalvakt up` starts it (kanalvakt.processes and kanalvakt.up:
nats-server, nx-27017, the mail sink, then the four services as `python -m kanalvakt run
<service>` with up's environment), on free ports of 127.0.0.1, in a temporary directory,
with the reference kommun; their logs go to files there. In order:

1. CEILING, before the services run (so nothing of theirs consumes its events):
   bench/consume.py's own `publish` and `ceiling` — raw nats-py JetStream, pull batch
   100, one PyMongo `insert_one` per message into the same nx-27017. Its events are then
   purged from the stream and its consumer deleted.
2. The services start; one account is registered (POST /accounts) and watched.
3. THROUGHPUT: N comments (a seeded mix of the labelled examples, each checked against
   the shipped classifier first so that it reads as intended) are POSTed to
   `/ingest` in batches, at `--rate` or as fast as the endpoint takes them.
4. LATENCY: a second storm at half the throughput measured in 3.
5. The end of every comment is checked.

How each step is observed: `comment.received`, `comment.flagged` (a case is open),
`moderation.escalated` and `comment.confidential` by ordered ephemeral consumers on
KANALVAKT_EVENTS, matched by comment id, timed on arrival. Classification leaves no event
for a comment that is kept: the label is read from moderation's `comments` at the end,
and counted while running. The archive publishes no event per fact kept, so its chain
entries are read from its store at the end: each entry names the event it keeps and when
it was kept (`recorded_at`, the archive's clock — the same machine's), which gives the
time from ingest to the archived record; its `records` are counted while running.

`--replicas K` runs K processes of each consuming service (moderation, archive,
notify; the registry stays one), each on its own port, /ingest spread over moderation's
round robin (`--compare-replicas`: 1, then K, on fresh stacks). `--chaos` breaks the
stack during the full phase (`Chaos`): kill -9 of one process of each consuming service
(started again with the same command, environment and port), a nats-server restart on
its data dir, the store frozen (SIGSTOP) for `--freeze-seconds`; a POST that fails is
sent again with the same items until taken. At the end every comment is counted again
from the stream itself and the stores (`ends`): nothing lost, nothing twice, no case
opened twice, every process ready, no dead letter.

Nothing here is asserted; numbers depend on the machine.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
from _local import (
    HOST,
    ROOT,
    Servers,
    code_under_test,
    cpu_seconds,
    interrupt_on_sigterm,
    load_average,
)
from api import plan_for, py_spy, summarise_profile
from consume import ceiling as ceiling_consume
from consume import publish as ceiling_publish
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kanalvakt.processes import free_port, start_mail_sink, start_nats, start_store, stop
from kanalvakt.up import UpOptions, _check_config, _wait_ready, service_environment
from services.moderation.domain.classification import LABELS, classifier_for
from shared.auth import mint_token
from shared.bus.streams import DLQ_STREAM, EVENTS_STREAM
from shared.principal import Role
from shared.reference import REFERENCE_KOMMUN_CONFIG
from shared.settings import ServiceName, Settings

SETS = (ROOT.parent / "shared/data/comments-dev.jsonl", ROOT / "tests/data/comments-labelled.jsonl")
RESULTS = ROOT / "bench" / "results"
# What `up` would otherwise take from this process's environment (tests/e2e/conftest.py).
UP_CHOOSES = ("AUTH_SECRET", "KOMMUN_CONFIG", "DEFAULT_KOMMUN", "SMTP_HOST", "NOTIFY_ACK_SECRET")
POLL_SECONDS = 0.5
IN_FLIGHT = 4  # POSTs at once per moderation process while as fast as it goes
# The services that consume events, run as --replicas processes each (the registry: one).
CONSUMING = (ServiceName.MODERATION, ServiceName.ARCHIVE, ServiceName.NOTIFY)

# The mix of a viral post's comments (fractions of N); threats are counted apart.
MIX: dict[str, float] = {
    "neutral": 0.36,
    "criticism": 0.30,
    "positive": 0.08,
    "question": 0.15,
    "misguided_or_correction": 0.05,
    "personal_attack": 0.03,
    "advertising": 0.025,
    "confidential": 0.005,
}
# The store commands that write: counted by every service process
# (kanalvakt_store_commands_total, PyMongo command monitoring), so a comment's writes are
# measured, not estimated. One insert_many of a batch is one write, as the ceiling's
# insert_one per message is.
WRITE_COMMANDS = ("insert", "update", "delete", "findAndModify")


@dataclass(frozen=True)
class Planned:
    platform_id: str
    text: str
    category: str  # what the shipped classifier says of the text

    @property
    def label(self) -> str:
        return LABELS[self.category]  # type: ignore[index]

    @property
    def comment_id(self) -> str:
        return f"facebook-{self.platform_id}"


def examples() -> dict[str, list[str]]:
    """The labelled texts by the category the shipped classifier gives them: only those
    that read as their label says, so each comment's expected end is known."""
    classifier = classifier_for(None)
    by: dict[str, list[str]] = {}
    for path in SETS:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            found = classifier.classify(item["text"]).category
            if found == item.get("category", found):
                by.setdefault(found, []).append(item["text"])
    return by


def threats_for(n: int) -> int:
    """A handful: at least 3, one in 2,000 of a large storm."""
    return max(3, n // 2000) if n >= 20 else 1


def plan_storm(n: int, seed: int, prefix: str, texts: dict[str, list[str]]) -> list[Planned]:
    rng = random.Random(seed)
    threats = threats_for(n)
    categories: list[str] = []
    for category, share in MIX.items():
        categories += [category] * round(n * share)
    categories = (categories + ["neutral"] * n)[: n - threats]
    rng.shuffle(categories)
    # Threats spread evenly, none first: each one lands in a storm already running.
    for k in range(threats):
        categories.insert((k + 1) * n // (threats + 1), "threat")
    return [Planned(f"{prefix}{i:07d}", rng.choice(texts[c]), c) for i, c in enumerate(categories)]


@dataclass
class Seen:
    """What the event observers saw, by comment id: (wall time, event id)."""

    received: dict[str, tuple[float, str]] = field(default_factory=dict)
    flagged: dict[str, tuple[float, str]] = field(default_factory=dict)
    escalated: dict[str, tuple[float, str]] = field(default_factory=dict)
    confidential: dict[str, tuple[float, str]] = field(default_factory=dict)
    repeats: Counter[str] = field(default_factory=Counter)  # the same event id twice


@dataclass
class Replica:
    """One process of a service: `kanalvakt run <service>` with up's environment and its
    own port; started again with exactly that after a kill."""

    service: ServiceName
    index: int
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def name(self) -> str:
        return f"{self.service.value}#{self.index}"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kanalvakt", "run", self.service.value],
                env=self.env | {"HTTP_PORT": str(self.port)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1


@dataclass
class Infra:
    """nats-server, nx-27017 and the mail sink as `up` starts them; nats-server may be
    restarted on its port and data dir (`--chaos`), so its process is kept here."""

    opts: UpOptions
    nats: subprocess.Popen[bytes]
    store: subprocess.Popen[bytes]

    @property
    def servers(self) -> Servers:
        return Servers(
            f"nats://{HOST}:{self.opts.nats_port}",
            f"mongodb://{HOST}:{self.opts.store_port}",
            self.nats,
            self.store,
        )

    def restart_nats(self) -> float:
        """Stop nats-server (SIGTERM: it syncs its file store) and start it again on the
        same ports and data dir; the seconds it was away."""
        down = time.monotonic()
        stop(self.nats)
        self.nats = start_nats(
            self.opts.data_dir / "nats", HOST, self.opts.nats_port, self.opts.nats_monitor_port
        )
        return time.monotonic() - down

    def store_pid(self) -> int:
        """nx-27017's own pid, from its pid file (the started process if there is none)."""
        pid_file = self.opts.data_dir / "store" / "nx-27017.pid"
        with contextlib.suppress(OSError, ValueError):
            return int(pid_file.read_text().strip())
        return self.store.pid


@dataclass
class Stack:
    data: Path
    infra: Infra
    kommun: str
    secret: str
    replicas: dict[ServiceName, list[Replica]]
    _turn: Iterator[Replica] | None = None

    @property
    def servers(self) -> Servers:
        return self.infra.servers

    @property
    def urls(self) -> dict[ServiceName, str]:
        """Each service's first process: for the calls that are not the storm itself."""
        return {s: r[0].url for s, r in self.replicas.items()}

    def all_replicas(self) -> list[Replica]:
        return [r for rs in self.replicas.values() for r in rs]

    def ingest_url(self) -> str:
        """Moderation's processes in turn (round robin)."""
        if self._turn is None:
            self._turn = itertools.cycle(self.replicas[ServiceName.MODERATION])
        return f"{next(self._turn).url}/ingest"

    def token(self, role: Role) -> str:
        defaults = Settings()
        return mint_token(
            self.secret,
            "storm",
            [role],
            issuer=defaults.auth_issuer,
            audience=defaults.auth_audience,
            email="storm@bench.example",
            kommun=self.kommun,
        )


def _ports(replicas: int) -> dict[str, int]:
    """Free ports, none the same: servers, each service, and each further replica's
    (`moderation#1`, …)."""
    taken: set[int] = set()
    names = ["nats", "monitor", "store", "smtp", *(s.value for s in ServiceName)]
    names += [f"{s.value}#{i}" for s in CONSUMING for i in range(1, replicas)]
    ports: dict[str, int] = {}
    for name in names:
        port = free_port()
        while port in taken:
            port = free_port()
        taken.add(port)
        ports[name] = port
    return ports


@contextlib.contextmanager
def infrastructure(data: Path, ports: dict[str, int]) -> Iterator[Infra]:
    """nats-server, nx-27017 and the mail sink as `up` starts them."""
    kommuner = _check_config(REFERENCE_KOMMUN_CONFIG)
    opts = UpOptions(
        data_dir=data,
        host=HOST,
        nats_port=ports["nats"],
        nats_monitor_port=ports["monitor"],
        store_port=ports["store"],
        smtp_port=ports["smtp"],
        http_ports={s: ports[s.value] for s in ServiceName},
        kommun_config=REFERENCE_KOMMUN_CONFIG,
        default_kommun=kommuner.default,
    )
    nats_proc = start_nats(data / "nats", HOST, opts.nats_port, opts.nats_monitor_port)
    infra: Infra | None = None
    try:
        infra = Infra(opts, nats_proc, start_store(data / "store", HOST, opts.store_port))
        try:
            mail = start_mail_sink(data / "mail", HOST, opts.smtp_port)
            try:
                yield infra
            finally:
                stop(mail)
        finally:
            # A store left frozen by an interrupted freeze would not stop on SIGTERM.
            with contextlib.suppress(OSError):
                os.kill(infra.store_pid(), signal.SIGCONT)
            stop(infra.store)
    finally:
        stop(infra.nats if infra is not None else nats_proc)  # a restart replaced the first


@contextlib.contextmanager
def services(
    opts: UpOptions, ports: dict[str, int], replicas: int, log_level: str
) -> Iterator[tuple[dict[ServiceName, list[Replica]], str]]:
    """The four services as `up` starts them, logs to files in the data dir; `replicas`
    processes of each consuming service."""
    environ = {k: v for k, v in os.environ.items() if k not in UP_CHOOSES}
    env = service_environment(opts, environ) | {"LOG_LEVEL": log_level}
    started: dict[ServiceName, list[Replica]] = {}
    for name in ServiceName:
        count = replicas if name in CONSUMING else 1
        started[name] = [
            Replica(
                name,
                i,
                ports[name.value if i == 0 else f"{name.value}#{i}"],
                env,
                opts.data_dir / (f"{name.value}.log" if i == 0 else f"{name.value}-{i}.log"),
            )
            for i in range(count)
        ]
    every = [r for rs in started.values() for r in rs]
    try:
        for replica in every:
            replica.start()
        for replica in every:
            assert replica.proc is not None
            _wait_ready(f"{replica.url}/readyz", replica.proc, opts.ready_timeout, [])
        yield started, env["AUTH_SECRET"]
    finally:
        for replica in every:
            if replica.proc is not None and replica.proc.poll() is None:
                replica.proc.terminate()
        for replica in every:
            if replica.proc is not None:
                stop(replica.proc)


def cpu_by_process(stack: Stack) -> dict[str, tuple[int, float]]:
    """Each process's pid and CPU seconds so far: which part of the stack limits."""
    pids = {r.name: r.pid for r in stack.all_replicas()}
    pids |= {
        "nx-27017": stack.infra.store_pid(),
        "nats-server": stack.infra.nats.pid,
        "storm.py": os.getpid(),
    }
    found: dict[str, tuple[int, float]] = {}
    for name, pid in pids.items():
        with contextlib.suppress(OSError):
            found[name] = (pid, cpu_seconds(pid))
    return found


def cpu_shares(
    before: dict[str, tuple[int, float]], after: dict[str, tuple[int, float]], wall_s: float
) -> dict[str, float | None]:
    """CPU used over the wall time, by process (1.0 = one core all the time), busiest
    first; a process started again meanwhile (--chaos) has none."""
    shares: dict[str, float | None] = {}
    for name, (pid, cpu) in after.items():
        was = before.get(name)
        shares[name] = round((cpu - was[1]) / wall_s, 3) if was and was[0] == pid else None
    return dict(sorted(shares.items(), key=lambda kv: -(kv[1] or 0)))


async def ready(replica: Replica, within: float) -> float:
    """Seconds until the process answers /readyz with 200 (without blocking the loop)."""
    start = time.monotonic()
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() - start < within:
            assert replica.proc is not None
            if replica.proc.poll() is not None:
                raise RuntimeError(f"{replica.name} exited with {replica.proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{replica.url}/readyz")).status_code == 200:
                    return time.monotonic() - start
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{replica.name} not ready within {within:.0f} s")


async def readiness(stack: Stack) -> dict[str, int | str]:
    """Every process's GET /readyz status (or why it did not answer)."""
    answers: dict[str, int | str] = {}
    async with httpx.AsyncClient(timeout=5.0) as client:
        for replica in stack.all_replicas():
            try:
                answers[replica.name] = (await client.get(f"{replica.url}/readyz")).status_code
            except httpx.HTTPError as exc:
                answers[replica.name] = type(exc).__name__
    return answers


async def measure_ceiling(servers: Servers, events: int) -> dict[str, float]:
    """bench/consume.py's ceiling on this stack's servers, then its traces removed."""
    publish_rate = await ceiling_publish(servers, events)
    store_cpu = cpu_seconds(servers.store.pid)
    rate, fifths = await ceiling_consume(servers, events)
    store_cpu = cpu_seconds(servers.store.pid) - store_cpu
    nc = await nats.connect(servers.nats_url)
    try:
        js = nc.jetstream()
        await js.delete_consumer(EVENTS_STREAM, "bench-ceiling")
        await js.purge_stream(EVENTS_STREAM, subject="account.created.>")
    finally:
        await nc.close()
    return {
        "events": events,
        "publish_per_s": publish_rate,
        "consume_per_s": rate,
        "first_fifth_per_s": fifths.first,
        "last_fifth_per_s": fifths.last,
        "store_cpu_s_per_1000": store_cpu * 1000 / events,
    }


OBSERVED = ("comment.received", "comment.flagged", "moderation.escalated", "comment.confidential")


class Observers:
    """Ordered ephemeral consumers from now on: each event's arrival time by comment.
    After a nats-server restart they are made again from the stream sequence after the
    last one seen, so nothing is missed and nothing seen twice."""

    def __init__(self, nats_url: str, kommun: str, seen: Seen) -> None:
        self.nats_url, self.kommun, self.seen = nats_url, kommun, seen
        self.nc: Any = None
        self.last: dict[str, int] = {}  # subject -> last stream sequence seen
        self.ids: set[str] = set()
        self.errors = 0

    async def start(self) -> None:
        self.nc = await nats.connect(self.nats_url, error_cb=self.broken)
        js = self.nc.jetstream()
        if not self.last:  # the first start: from the stream's end on
            last_seq = (await js.stream_info(EVENTS_STREAM)).state.last_seq
            self.last = dict.fromkeys(OBSERVED, last_seq)
        seen = self.seen
        where = {
            "comment.received": seen.received,
            "comment.flagged": seen.flagged,
            "moderation.escalated": seen.escalated,
            "comment.confidential": seen.confidential,
        }
        for subject, into in where.items():

            async def arrived(
                msg: Any, into: dict[str, tuple[float, str]] = into, subject: str = subject
            ) -> None:
                now = time.time()
                self.last[subject] = msg.metadata.sequence.stream
                body = json.loads(msg.data)
                if body["id"] in self.ids:
                    seen.repeats[msg.subject] += 1
                    return
                self.ids.add(body["id"])
                comment_id = body["data"].get("comment_id", body.get("subject", ""))
                into.setdefault(comment_id, (now, body["id"]))

            await js.subscribe(
                f"{subject}.{self.kommun}",
                cb=arrived,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                config=ConsumerConfig(opt_start_seq=self.last[subject] + 1),
                pending_msgs_limit=-1,
                pending_bytes_limit=-1,
            )

    async def broken(self, exc: Exception) -> None:
        """A nats-server restart (--chaos) breaks the connection: `restart` follows,
        nothing to print."""
        self.errors += 1

    async def restart(self) -> None:
        with contextlib.suppress(Exception):
            await self.close()
        await self.start()

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()


async def register_account(stack: Stack, client: httpx.AsyncClient) -> tuple[str, str]:
    plan = plan_for(secrets.randbelow(900_000) + 100_000)
    answer = await client.post(
        f"{stack.urls[ServiceName.REGISTRY]}/accounts",
        json=plan,
        headers={"Authorization": f"Bearer {stack.token(Role.COMMUNICATOR)}"},
    )
    answer.raise_for_status()
    account_id: str = answer.json()["id"]
    staff = {"Authorization": f"Bearer {stack.token(Role.COMMUNICATOR)}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = await client.get(
            f"{stack.urls[ServiceName.MODERATION]}/accounts/{account_id}", headers=staff
        )
        if found.status_code == 200:
            return account_id, str(plan["handle"])
        await asyncio.sleep(0.2)
    raise TimeoutError("moderation did not watch the account within 60 s")


def inbound(item: Planned, handle: str) -> dict[str, Any]:
    return {
        "kind": "comment",
        "platform": "facebook",
        "platform_id": item.platform_id,
        "account": handle,
        "post_id": "storm-post",
        "author": {"id": f"u{item.platform_id[-4:]}", "name": "Medborgare"},
        "text": item.text,
        "created_at": datetime.now(UTC).isoformat(),
    }


@dataclass
class Sent:
    at: dict[str, float] = field(default_factory=dict)  # wall time its first POST started
    statuses: Counter[str] = field(default_factory=Counter)  # each item's final answer
    errors: list[str] = field(default_factory=list)  # the first few failed POSTs
    failed_posts: int = 0  # POSTs sent again: refused connection, 5xx, 429, timeout
    untaken: int = 0  # items never taken before the phase's time ran out

    def failed(self, why: str) -> None:
        self.failed_posts += 1
        if len(self.errors) < 20:
            self.errors.append(why)


# A POST answered so is sent again with the same items: the endpoint is idempotent by
# item key, so an item taken before the failure answers "duplicate" the second time.
RETRIED_STATUSES = {429, 500, 502, 503, 504}


async def offer(
    stack: Stack,
    client: httpx.AsyncClient,
    items: Sequence[Planned],
    handle: str,
    rate: float | None,
    batch: int,
    sent: Sent,
    on_sent: Callable[[int], None],
    deadline: float,
) -> None:
    """POST the items to /ingest: at `rate` a second (batches every 0.1 s at most), or as
    fast as it takes them (`IN_FLIGHT` batches of `batch` at once). Moderation's
    processes take turns; a POST that fails is sent again, with the same body, to the
    next one until taken (or until `deadline`, monotonic)."""
    headers = {"Authorization": f"Bearer {stack.token(Role.CONNECTOR)}"}

    async def post(chunk: Sequence[Planned]) -> None:
        body = [inbound(i, handle) for i in chunk]
        now = time.time()
        for item in chunk:
            sent.at[item.comment_id] = now
        attempt = 0
        while True:
            try:
                answer = await client.post(stack.ingest_url(), json=body, headers=headers)
            except httpx.HTTPError as exc:
                sent.failed(f"{type(exc).__name__}: {exc}")
            else:
                if answer.status_code in (202, 207):
                    sent.statuses.update(r["status"] for r in answer.json())
                    break
                sent.failed(f"{answer.status_code}: {answer.text[:300]}")
                if answer.status_code not in RETRIED_STATUSES:  # ours to fix, not to retry
                    sent.statuses["refused"] += len(chunk)
                    break
            if time.monotonic() > deadline:
                sent.untaken += len(chunk)
                break
            await asyncio.sleep(min(5.0, 0.25 * 2**attempt))
            attempt += 1
        on_sent(len(chunk))

    if rate is None:
        chunks = [items[i : i + batch] for i in range(0, len(items), batch)]
        queue: asyncio.Queue[Sequence[Planned]] = asyncio.Queue()
        for chunk in chunks:
            queue.put_nowait(chunk)

        async def worker() -> None:
            while not queue.empty():
                await post(queue.get_nowait())

        in_flight = IN_FLIGHT * len(stack.replicas[ServiceName.MODERATION])
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return
    # At a rate: each tick sends what is due, so a slow POST delays no later tick.
    tick = max(0.1, 1 / rate)
    start = time.monotonic()
    done = 0
    tasks: list[asyncio.Task[None]] = []
    while done < len(items):
        due = min(len(items), int((time.monotonic() - start) * rate) + 1)
        if due > done:
            for i in range(done, due, batch):
                tasks.append(asyncio.create_task(post(items[i : min(due, i + batch)])))
            done = due
        await asyncio.sleep(tick)
    await asyncio.gather(*tasks)


# When each fault comes (--chaos): at this share of the full phase done — the mean of
# the shares of its comments offered and archived —, so that a small storm gets every
# fault, and a fast /ingest does not put them all before the archive's work. One at a
# time, each recovered from before the next.
CHAOS_SCHEDULE: tuple[tuple[float, str, ServiceName | None], ...] = (
    (0.10, "kill", ServiceName.MODERATION),
    (0.25, "kill", ServiceName.ARCHIVE),
    (0.40, "kill", ServiceName.NOTIFY),
    (0.55, "nats", None),
    (0.70, "freeze", None),
)
RECOVERY_TIMEOUT = 120.0  # seconds a process or the stack may take to be ready again


class Chaos:
    """The faults of `--chaos`, each logged with its time."""

    def __init__(
        self, stack: Stack, observers: Observers, freeze_seconds: float, console: Console
    ) -> None:
        self.stack, self.observers = stack, observers
        self.freeze_seconds = freeze_seconds
        self.console = console
        self.faults: list[dict[str, Any]] = []

    async def run(self, done: Callable[[], float], moved: asyncio.Event, started: float) -> None:
        """Each fault once `done()` (the share of the phase done, 0 to 1) reaches its
        place in the schedule; `moved` is set whenever it may have moved."""
        for share, what, service in CHAOS_SCHEDULE:
            while done() < share:
                moved.clear()
                await moved.wait()
            fault: dict[str, Any] = {
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "t_s": round(time.time() - started, 3),
                "share_done": round(done(), 3),
            }
            self.faults.append(fault)
            try:
                if what == "kill":
                    assert service is not None
                    await self.kill(self.stack.replicas[service][0], fault)
                elif what == "nats":
                    await self.restart_nats(fault)
                else:
                    await self.freeze(fault)
            except (OSError, RuntimeError, TimeoutError) as exc:  # counted at the end
                fault["error"] = f"{type(exc).__name__}: {exc}"
            self.console.print(f"[yellow]fault:[/yellow] {fault}")

    async def kill(self, replica: Replica, fault: dict[str, Any]) -> None:
        assert replica.proc is not None
        fault |= {"fault": "kill -9", "target": replica.name, "pid": replica.pid}
        os.kill(replica.pid, signal.SIGKILL)
        await asyncio.to_thread(replica.proc.wait)
        replica.start()  # the same command, environment and port
        fault["new_pid"] = replica.pid
        fault["ready_after_s"] = round(await ready(replica, RECOVERY_TIMEOUT), 3)

    async def restart_nats(self, fault: dict[str, Any]) -> None:
        fault |= {"fault": "nats-server restart", "target": "nats-server"}
        fault["pid"] = self.stack.infra.nats.pid
        fault["down_s"] = round(await asyncio.to_thread(self.stack.infra.restart_nats), 3)
        fault["new_pid"] = self.stack.infra.nats.pid
        start = time.monotonic()
        await self.observers.restart()
        await self.all_ready()
        fault["all_ready_after_s"] = round(time.monotonic() - start, 3)

    async def freeze(self, fault: dict[str, Any]) -> None:
        pid = self.stack.infra.store_pid()
        fault |= {"fault": "store frozen (SIGSTOP)", "target": "nx-27017", "pid": pid}
        fault["seconds"] = self.freeze_seconds
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(self.freeze_seconds)
        finally:
            os.kill(pid, signal.SIGCONT)
        start = time.monotonic()
        await self.all_ready()
        fault["all_ready_after_s"] = round(time.monotonic() - start, 3)

    async def all_ready(self) -> None:
        for replica in self.stack.all_replicas():
            await ready(replica, RECOVERY_TIMEOUT)


@dataclass
class Phase:
    name: str
    items: list[Planned]
    rate: float | None
    sent: Sent = field(default_factory=Sent)
    started: float = 0.0
    offered_s: float = 0.0
    finished: float = 0.0  # when the last comment was seen at its end (wall time)
    complete: bool = False


async def run_phase(
    stack: Stack,
    phase: Phase,
    handle: str,
    batch: int,
    seen: Seen,
    db: Any,
    baseline: dict[str, int],
    limit_s: float,
    progress: Progress,
    chaos: "Chaos | None" = None,
) -> None:
    n = len(phase.items)
    ids = [i.comment_id for i in phase.items]
    flagged_ids = [i.comment_id for i in phase.items if i.label != "keep"]
    threat_ids = [i.comment_id for i in phase.items if i.category == "threat"]
    tasks = {
        what: progress.add_task(f"{phase.name}: {what}", total=n)
        for what in ("offered", "received", "classified", "archived")
    }
    tasks["cases"] = progress.add_task(f"{phase.name}: cases", total=len(flagged_ids))
    offered = [0]
    moved = asyncio.Event()

    def on_sent(k: int) -> None:
        offered[0] += k
        moved.set()
        progress.advance(tasks["offered"], k)

    deadline = time.monotonic() + limit_s
    classified = records = 0
    async with httpx.AsyncClient(timeout=60) as client:
        phase.started = time.time()
        sender = asyncio.create_task(
            offer(
                stack, client, phase.items, handle, phase.rate, batch, phase.sent, on_sent, deadline
            )
        )
        faults = asyncio.create_task(
            chaos.run(lambda: (offered[0] + min(records, n)) / (2 * n), moved, phase.started)
            if chaos
            else asyncio.sleep(0)
        )
        classified_at = archived_at = 0.0
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            if sender.done() and not phase.offered_s:
                sender.result()
                phase.offered_s = time.time() - phase.started
            if faults.done():
                faults.result()
            with contextlib.suppress(PyMongoError):  # a frozen store: the last counts stand
                classified = await db["moderation"]["comments"].estimated_document_count()
                classified -= baseline["comments"]
                records = await db["archive"]["records"].estimated_document_count()
                records -= baseline["records"]
            moved.set()
            received = sum(1 for c in ids if c in seen.received)
            cases = sum(1 for c in flagged_ids if c in seen.flagged)
            escalated = sum(1 for c in threat_ids if c in seen.escalated)
            progress.update(tasks["received"], completed=received)
            progress.update(tasks["classified"], completed=min(classified, n))
            progress.update(tasks["archived"], completed=min(records, n))
            progress.update(tasks["cases"], completed=cases)
            now = time.time()
            if classified >= n and not classified_at:
                classified_at = now
            if records >= n and not archived_at:
                archived_at = now
            if (
                sender.done()
                and faults.done()
                and received == n
                and cases == len(flagged_ids)
                and escalated == len(threat_ids)
                and classified_at
                and archived_at
            ):
                events_done = max(
                    max(seen.received[c][0] for c in ids),
                    *(seen.flagged[c][0] for c in flagged_ids),
                )
                phase.finished = max(events_done, classified_at, archived_at)
                phase.complete = True
                break
        for task in (sender, faults):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    baseline["comments"] += n
    baseline["records"] += n


def quantiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p99": p99,
        "max": ordered[-1],
    }


@dataclass
class StreamTally:
    """Every comment's events as the stream itself holds them, read from its start: what
    the end is counted on, whatever the live observers missed."""

    events: dict[str, dict[str, set[str]]] = field(
        default_factory=lambda: {s: defaultdict(set) for s in OBSERVED}
    )  # subject -> comment id -> distinct event ids
    received_messages: Counter[str] = field(default_factory=Counter)  # copies included
    classifier_flags: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    messages: int = 0

    def of(self, subject: str, comment_id: str) -> set[str]:
        return self.events[subject].get(comment_id, set())


async def read_stream(nats_url: str, kommun: str) -> StreamTally:
    """A fresh ephemeral consumer (no acks) over KANALVAKT_EVENTS from the first message."""
    tally = StreamTally()
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            f"*.*.{kommun}",
            stream=EVENTS_STREAM,
            config=ConsumerConfig(
                ack_policy=AckPolicy.NONE,
                deliver_policy=DeliverPolicy.ALL,
                inactive_threshold=60.0,
            ),
        )
        try:
            while (pending := (await sub.consumer_info()).num_pending or 0) > 0:
                for msg in await sub.fetch(min(1000, pending), timeout=10):
                    tally.messages += 1
                    subject = msg.subject.rsplit(".", 1)[0]
                    if subject not in tally.events:
                        continue
                    body = json.loads(msg.data)
                    comment_id = body["data"].get("comment_id", body.get("subject", ""))
                    tally.events[subject][comment_id].add(body["id"])
                    if subject == "comment.received":
                        tally.received_messages[comment_id] += 1
                    elif subject == "comment.flagged" and body["data"].get("source") in (
                        None,
                        "classifier",
                    ):
                        tally.classifier_flags[comment_id].add(body["id"])
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()
    return tally


async def _ids(collection: Any, query: dict[str, Any], key: str = "_id") -> Counter[str]:
    found: Counter[str] = Counter()
    async for doc in collection.find(query, {key: 1}):
        found[str(doc[key])] += 1
    return found


async def ends(
    phases: list[Phase], seen: Seen, db: Any, kommun: str, account_id: str, nats_url: str
) -> dict[str, Any]:
    """Every comment followed to its end, counted from the stream and the stores once
    the storm is over: what is missing (lost) and what is there twice."""
    stream = await read_stream(nats_url, kommun)
    all_items = [i for p in phases for i in p.items]
    labels: dict[str, str] = {}
    classifications: Counter[str] = Counter()
    async for doc in db["moderation"]["comments"].find(
        {"account_id": account_id}, {"_id": 1, "label": 1}
    ):
        labels[str(doc["_id"])] = str(doc.get("label"))
        classifications[str(doc["_id"])] += 1
    cases = await _ids(db["moderation"]["cases"], {"account_id": account_id})
    kept: dict[str, float] = {}  # event id -> when the archive kept it
    entries: Counter[str] = Counter()  # event id -> chain entries keeping it
    async for doc in db["archive"]["entries"].find(
        {"kommun": kommun, "account_id": account_id}, {"event_id": 1, "recorded_at": 1}
    ):
        at = doc["recorded_at"]
        kept[str(doc["event_id"])] = (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
        entries[str(doc["event_id"])] += 1
    records = await _ids(db["archive"]["records"], {"account_id": account_id})

    counts: Counter[str] = Counter()
    wrong_label: list[str] = []
    lost: dict[str, list[str]] = defaultdict(list)  # what is missing: a few comment ids
    twice: dict[str, list[str]] = defaultdict(list)

    def note(into: dict[str, list[str]], what: str, comment_id: str) -> None:
        counts[what] += 1
        if len(into[what]) < 10:
            into[what].append(comment_id)

    for item in all_items:
        c = item.comment_id
        received = stream.of("comment.received", c)
        flagged = stream.of("comment.flagged", c)
        escalated = stream.of("moderation.escalated", c)
        confidential = stream.of("comment.confidential", c)
        counts["comments"] += 1
        counts["received_event"] += bool(received)
        counts["received_seen_live"] += c in seen.received  # by the observers, timed
        counts["classified"] += c in labels
        if labels.get(c) == item.label:
            counts["classified_as_intended"] += 1
        elif c in labels and len(wrong_label) < 10:
            wrong_label.append(f"{c}: {labels[c]} (meant {item.label}: {item.text[:60]!r})")
        wants_case = item.label != "keep"
        threat = item.category == "threat"
        counts["cases_expected"] += wants_case
        counts["cases_opened"] += wants_case and c in cases
        counts["cases_unexpected"] += (not wants_case) and c in cases
        counts["flagged_event"] += bool(flagged)
        counts["threats"] += threat
        counts["escalated_event"] += bool(escalated)
        counts["records"] += c in records
        events = received | flagged | escalated | confidential
        counts["facts_expected"] += len(events)
        counts["facts_archived"] += sum(1 for e in events if e in kept)
        # Lost: something this comment must have is not there.
        for what, missing in (
            ("lost_received_event", not received),
            ("lost_classification", c not in labels),
            ("lost_case", wants_case and c not in cases),
            ("lost_flagged_event", wants_case and not flagged),
            ("lost_escalation", threat and not escalated),
            ("lost_record", c not in records),
            ("lost_chain_entry", any(e not in kept for e in events)),
        ):
            if missing:
                note(lost, what, c)
        # Twice: one thing there more than once.
        for what, repeated in (
            ("received_event_twice", len(received) > 1),  # two events for one comment
            ("classified_twice", classifications[c] > 1),
            ("case_twice", cases[c] > 1 or len(stream.classifier_flags.get(c, ())) > 1),
            ("escalated_twice", len(escalated) > 1),
            ("record_twice", records[c] > 1),
            ("chain_entry_twice", any(entries[e] > 1 for e in events)),
        ):
            if repeated:
                note(twice, what, c)
        # Copies of one event in the stream (a re-send after the duplicate window):
        # consumers skip them; counted, not a fault.
        counts["received_copies_in_stream"] += max(0, stream.received_messages[c] - 1)
        end = (
            bool(received)
            and labels.get(c) == item.label
            and (c in cases) == wants_case
            and bool(escalated) == threat
            and c in records
            and all(e in kept for e in events)
        )
        counts["followed_to_end"] += end
    lost_total = sum(counts[k] for k in counts if k.startswith("lost_"))
    twice_total = sum(counts[k] for k in counts if k.endswith("_twice"))
    return {
        "counts": dict(counts),
        "all_followed_to_end": counts["followed_to_end"] == counts["comments"],
        "lost": lost_total,
        "duplicated": twice_total,
        "cases_opened_twice": counts["case_twice"],
        "lost_examples": dict(lost),
        "twice_examples": dict(twice),
        "stream_messages_read": stream.messages,
        "wrong_labels": wrong_label,
        "repeated_events": dict(seen.repeats),
        "kept": kept,
    }


async def settle(
    phases: list[Phase],
    seen: Seen,
    db: Any,
    stack: Stack,
    account_id: str,
    limit_s: float,
    console: Console,
) -> dict[str, Any]:
    """The ends, counted again every few seconds until nothing is missing or `limit_s`
    has passed: services nak with backoff, the outbox sweep re-sends."""
    deadline = time.monotonic() + limit_s
    start = time.monotonic()
    while True:
        try:
            end = await ends(phases, seen, db, stack.kommun, account_id, stack.servers.nats_url)
        except (PyMongoError, nats.errors.Error) as exc:
            end = {"lost": -1, "error": f"{type(exc).__name__}: {exc}"}
        if end["lost"] == 0 or time.monotonic() > deadline:
            if "counts" in end:
                end["settled_after_s"] = round(time.monotonic() - start, 1)
                return end
            raise RuntimeError(f"the ends could not be counted: {end['error']}")
        console.print(f"[dim]waiting for the last comments: {end.get('lost')} missing…[/dim]")
        await asyncio.sleep(5.0)


def phase_figures(phase: Phase, seen: Seen, kept: dict[str, float]) -> dict[str, Any]:
    n = len(phase.items)
    span = (phase.finished or time.time()) - phase.started
    archived = [
        kept[seen.received[i.comment_id][1]] - phase.sent.at[i.comment_id]
        for i in phase.items
        if i.comment_id in seen.received and seen.received[i.comment_id][1] in kept
    ]
    received = [
        seen.received[i.comment_id][0] - phase.sent.at[i.comment_id]
        for i in phase.items
        if i.comment_id in seen.received
    ]
    flagged = [
        seen.flagged[i.comment_id][0] - phase.sent.at[i.comment_id]
        for i in phase.items
        if i.comment_id in seen.flagged
    ]
    escalated = [
        seen.escalated[i.comment_id][0] - phase.sent.at[i.comment_id]
        for i in phase.items
        if i.comment_id in seen.escalated
    ]
    return {
        "comments": n,
        "offered_rate": phase.rate,
        "offered_s": phase.offered_s,
        "offered_per_s": n / phase.offered_s if phase.offered_s else None,
        "complete": phase.complete,
        "end_to_end_s": span,
        "comments_per_s": n / span if phase.complete else None,
        "ingest_statuses": dict(phase.sent.statuses),
        "ingest_failed_posts": phase.sent.failed_posts,
        "ingest_untaken": phase.sent.untaken,
        "ingest_errors": phase.sent.errors[:10],
        "latency_s": {
            "to_archived_record": quantiles(archived),
            "to_received_event": quantiles(received),
            "to_case_flagged_event": quantiles(flagged),
            "to_escalated_event": quantiles(escalated),
        },
    }


async def store_commands(stack: Stack) -> Counter[str]:
    """Every service process's kanalvakt_store_commands_total, by command, summed."""
    counts: Counter[str] = Counter()  # whole numbers, though Prometheus reads floats
    async with httpx.AsyncClient(timeout=10) as http:
        for replica in stack.all_replicas():
            text = (await http.get(f"{replica.url}/metrics")).text
            for family in text_string_to_metric_families(text):
                if family.name == "kanalvakt_store_commands":
                    for sample in family.samples:
                        if sample.name.endswith("_total"):
                            counts[sample.labels["command"]] += int(sample.value)
    return counts


def per_comment(before: Counter[str], after: Counter[str], comments: int) -> dict[str, Any]:
    """Store commands per comment over the full phase, all services together (their
    background passes included: what the storm costs the store)."""
    spent = {c: after[c] - before[c] for c in after if after[c] - before[c] > 0}
    writes = sum(spent.get(c, 0) for c in WRITE_COMMANDS)
    return {
        "writes": writes / comments,
        "commands": sum(spent.values()) / comments,
        "by_command": {c: round(n / comments, 2) for c, n in sorted(spent.items())},
    }


def fmt(value: Any, spec: str = ".0f") -> str:
    return "–" if value is None else format(value, spec)


def show(console: Console, result: dict[str, Any]) -> None:
    title = f"Comment storm: {result['comments']} comments, {result['replicas']} replica(s)"
    if result.get("chaos"):
        title += ", chaos"
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    c, t, lat = result["ceiling"], result["throughput"], result["latency"]
    table.add_row("ceiling: raw pull + insert_one, msgs/s", fmt(c["consume_per_s"]))
    table.add_row("processes: moderation, archive, notify (registry 1)", str(result["replicas"]))
    table.add_row("pipeline: comments/s end to end", fmt(t["comments_per_s"], ".1f"))
    table.add_row("  offered (POSTed) comments/s", fmt(t["offered_per_s"]))
    table.add_row("store writes per comment (measured)", fmt(result["writes_per_comment"], ".2f"))
    if result.get("store_per_comment"):
        table.add_row(
            "  store commands per comment, all", fmt(result["store_per_comment"]["commands"], ".1f")
        )
    table.add_row("ratio comments/s ÷ ceiling msgs/s", fmt(result["ratio_raw"], ".3f"))
    table.add_row("[b]ratio by store writes[/b] (aim ≥ 0.6)", fmt(result["ratio_by_writes"], ".2f"))
    if lat is not None:
        arch = lat["latency_s"]["to_archived_record"]
        table.add_row("half load: offered comments/s", fmt(lat["offered_rate"], ".1f"))
        table.add_row(
            "ingest → archived record p50 / p99 / max (s)",
            f"{fmt(arch['p50'], '.2f')} / {fmt(arch['p99'], '.2f')} / {fmt(arch['max'], '.2f')}",
        )
    for name, phase in (("full", t), ("half", lat)):
        if phase is None:
            continue
        esc = phase["latency_s"]["to_escalated_event"]
        table.add_row(
            f"{name} load: ingest → moderation.escalated max (s, n={esc['n']})",
            fmt(esc["max"], ".2f"),
        )
    end = result["ends"]
    counts = end["counts"]
    table.add_row(
        "followed to their end", f"{counts.get('followed_to_end', 0)}/{counts.get('comments', 0)}"
    )
    table.add_row("dead letters on dlq.>", str(result["dead_letters"]))
    busiest = [(k, v) for k, v in result.get("cpu_share_full_phase", {}).items() if v][:3]
    table.add_row(
        "busiest in the full phase, share of a core",
        ", ".join(f"{name} {share:.0%}" for name, share in busiest),
    )
    if result.get("chaos"):
        for fault in result["faults"]:
            table.add_row(
                f"fault at {fault['t_s']:.1f} s: {fault.get('fault')} {fault.get('target')}",
                "failed" if "error" in fault else "done",
            )
        table.add_row("POSTs sent again", str(t["ingest_failed_posts"]))
    for name, ok in result["checks"].items():
        table.add_row(f"[b]{name.replace('_', ' ')}[/b]", "yes" if ok else "[red]NO[/red]")
    console.print(table)


async def dead_letters(nats_url: str) -> dict[str, int]:
    """Messages on dlq.> over every stream, and in the dead-letter stream."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        total = 0
        for stream in await js.streams_info():
            name = stream.config.name or ""
            subjects = await js.stream_info(name, subjects_filter="dlq.>")
            total += sum((subjects.state.subjects or {}).values())
        dlq = (await js.stream_info(DLQ_STREAM)).state.messages
        return {"on_dlq_subjects": total, "dlq_stream_messages": dlq}
    finally:
        await nc.close()


@contextlib.contextmanager
def data_dir(keep: Path | None) -> Iterator[Path]:
    """A temporary directory, or `--keep DIR` (new or empty), kept with every log."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="kvstorm-") as tmp:
            yield Path(tmp)
        return
    keep.mkdir(parents=True, exist_ok=True)
    yield keep.resolve()


async def storm(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    texts = examples()
    run_id = secrets.token_hex(3)
    full = plan_storm(args.comments, args.seed, f"storm{run_id}f", texts)
    half_n = args.latency_comments or max(100, args.comments // 4)
    half = plan_storm(half_n, args.seed + 1, f"storm{run_id}h", texts)
    result: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": code_under_test(),
        "machine": {
            "cores": os.cpu_count(),
            "load_average_at_start": os.getloadavg()[0],
            "python": sys.version.split()[0],
        },
        "comments": args.comments,
        "replicas": args.replicas,
        "chaos": args.chaos,
        "seed": args.seed,
        "mix": dict(Counter(i.category for i in full)),
    }
    ports = _ports(args.replicas)
    with data_dir(args.keep) as data, infrastructure(data, ports) as infra:
        console.print(f"[dim]ceiling: {args.ceiling_events} events…[/dim]")
        result["ceiling"] = await measure_ceiling(infra.servers, args.ceiling_events)
        with services(infra.opts, ports, args.replicas, args.log_level) as (replicas, secret):
            stack = Stack(data, infra, infra.opts.default_kommun, secret, replicas)
            await run_storm(args, console, stack, full, half, result)
            result["processes"] = {
                r.name: {"port": r.port, "starts": r.starts, "alive": r.proc.poll() is None}
                for r in stack.all_replicas()
                if r.proc is not None
            }
            result["services_alive_at_end"] = {
                s.value: all(r.proc is not None and r.proc.poll() is None for r in rs)
                for s, rs in replicas.items()
            }
            result["readyz_at_end"] = await readiness(stack)
            letters = await dead_letters(infra.servers.nats_url)
            result["dead_letters"] = letters["on_dlq_subjects"]
            result["dlq_stream_messages"] = letters["dlq_stream_messages"]
            result["store_cpu_s"] = cpu_seconds(infra.store.pid)
        end = result["ends"]
        result["checks"] = {
            "nothing_lost": end["lost"] == 0 and result["throughput"]["ingest_untaken"] == 0,
            "nothing_duplicated": end["duplicated"] - end["cases_opened_twice"] == 0,
            "no_case_opened_twice": end["cases_opened_twice"] == 0,
            "every_process_ready": all(v == 200 for v in result["readyz_at_end"].values()),
            "dead_letters_none": result["dead_letters"] == 0 == result["dlq_stream_messages"],
        }
        result["logs"] = str(data) if args.keep else "kept only while running (temporary directory)"
    result["machine"]["load_average_at_end"] = os.getloadavg()[0]
    return result


async def run_storm(
    args: argparse.Namespace,
    console: Console,
    stack: Stack,
    full: list[Planned],
    half: list[Planned],
    result: dict[str, Any],
) -> None:
    seen = Seen()
    # Longer than the services' 5 s per operation: the end reads whole collections.
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        stack.servers.mongodb_url, tz_aware=True, timeoutMS=120_000
    )
    db = {
        "moderation": client[Settings(service=ServiceName.MODERATION).database_name],
        "archive": client[Settings(service=ServiceName.ARCHIVE).database_name],
    }
    observers = Observers(stack.servers.nats_url, stack.kommun, seen)
    await observers.start()
    chaos = Chaos(stack, observers, args.freeze_seconds, console) if args.chaos else None
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            account_id, handle = await register_account(stack, http)
        baseline = {
            "comments": await db["moderation"]["comments"].estimated_document_count(),
            "records": await db["archive"]["records"].estimated_document_count(),
        }
        phases = [Phase("full", full, args.rate)]
        progress = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
        )
        with progress, contextlib.ExitStack() as sampling:
            sample(sampling, stack, args.py_spy, "full")
            cpu_before, wall_before = cpu_by_process(stack), time.monotonic()
            commands_before = await store_commands(stack)
            await run_phase(
                stack,
                phases[0],
                handle,
                args.batch,
                seen,
                db,
                baseline,
                args.timeout,
                progress,
                chaos,
            )
            # A process killed under --chaos starts its counters again: not measured then.
            result["store_per_comment"] = (
                None
                if chaos is not None
                else per_comment(commands_before, await store_commands(stack), len(full))
            )
            result["cpu_share_full_phase"] = cpu_shares(
                cpu_before, cpu_by_process(stack), time.monotonic() - wall_before
            )
            sampling.close()
            throughput = phase_figures(phases[0], seen, {})
            half_rate = (throughput["comments_per_s"] or 0) / 2
            # Under --chaos the half-load phase is not run: its figure is of a quiet stack.
            if args.latency_comments >= 0 and half_rate > 0 and chaos is None:
                phases.append(Phase("half", half, half_rate))
                sample(sampling, stack, args.py_spy, "half")
                await run_phase(
                    stack, phases[1], handle, args.batch, seen, db, baseline, args.timeout, progress
                )
                sampling.close()
        await asyncio.sleep(1.0)  # events still in flight to the observers
        # Whatever is still on its way (a nak's backoff, the outbox sweep) is waited for:
        # as long as a phase may take if every phase ended, else briefly.
        settle_s = args.timeout if all(p.complete for p in phases) else 30.0
        end = await settle(phases, seen, db, stack, account_id, settle_s, console)
        kept = end.pop("kept")
        # The full phase ended when its last archived fact was kept, if later than seen.
        t = phases[0]
        last_kept = [
            kept[e[1]]
            for i in t.items
            for e in (seen.received.get(i.comment_id), seen.flagged.get(i.comment_id))
            if e is not None and e[1] in kept
        ]
        if t.complete and last_kept:
            t.finished = max(t.finished, max(last_kept))
        result["throughput"] = phase_figures(t, seen, kept)
        result["latency"] = phase_figures(phases[1], seen, kept) if len(phases) > 1 else None
        result["ends"] = end
        result["faults"] = chaos.faults if chaos else []
        measured = result["store_per_comment"]
        wpc = measured["writes"] if measured else None
        rate = result["throughput"]["comments_per_s"]
        ceiling = result["ceiling"]["consume_per_s"]
        result["writes_per_comment"] = wpc
        result["ratio_raw"] = rate / ceiling if rate else None
        result["ratio_by_writes"] = rate * wpc / ceiling if rate and wpc else None
        result["account_id"] = account_id
    finally:
        await observers.close()
        await client.close()


PROFILED = (ServiceName.MODERATION, ServiceName.ARCHIVE)


def sample(sampling: contextlib.ExitStack, stack: Stack, folder: Path | None, phase: str) -> None:
    """With --py-spy: sample moderation, archive and the store while `sampling` is open,
    into `<folder>/<phase>-<process>.txt` (the full phase: where a storm's time goes; the
    half phase: what stalls a quiet stack's latency as the store grows)."""
    if folder is None:
        return
    for name in PROFILED:
        pid = stack.replicas[name][0].pid
        sampling.enter_context(py_spy(pid, folder / f"{phase}-{name.value}.txt"))
    sampling.enter_context(py_spy(stack.servers.store.pid, folder / f"{phase}-store.txt"))


async def compare_replicas(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """The same storm with one process of each consuming service, then with
    `--replicas`, each on a fresh stack; the gain in comments/s end to end."""
    runs = []
    for replicas in (1, args.replicas):
        console.print(f"[b]{replicas} process(es) of each consuming service[/b]")
        once = argparse.Namespace(**vars(args))
        once.replicas = replicas
        if args.keep is not None:
            once.keep = args.keep / f"replicas-{replicas}"
        runs.append(await storm(once, console))
    rates = [r["throughput"]["comments_per_s"] for r in runs]
    return {
        "compare_replicas": [1, args.replicas],
        "comments_per_s": rates,
        "gain": rates[1] / rates[0] if all(rates) else None,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000, help="comments in the storm")
    parser.add_argument(
        "--rate", type=float, default=None, help="comments/s offered; default as fast as it goes"
    )
    parser.add_argument("--batch", type=int, default=100, help="items per POST /ingest (≤ 1000)")
    parser.add_argument("--seed", type=int, default=13, help="the mix and texts drawn")
    parser.add_argument(
        "--latency-comments",
        type=int,
        default=0,
        help="comments at half load (default a quarter of --comments, at least 100; "
        "-1 skips the phase)",
    )
    parser.add_argument(
        "--ceiling-events",
        type=int,
        default=0,
        help="events through the ceiling (default --comments, between 1,000 and 20,000)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="processes of each consuming service (moderation, archive, notify); "
        "the registry runs one",
    )
    parser.add_argument(
        "--compare-replicas",
        action="store_true",
        help="run the storm twice on fresh stacks, with 1 process and with --replicas, "
        "and print the gain in comments/s",
    )
    parser.add_argument(
        "--chaos",
        action="store_true",
        help="during the full phase: kill -9 one process of each consuming service and "
        "start it again, restart nats-server, freeze the store; then count what was lost "
        "or kept twice (no half-load phase)",
    )
    parser.add_argument(
        "--freeze-seconds",
        type=float,
        default=30.0,
        help="how long --chaos keeps the store frozen (SIGSTOP … SIGCONT)",
    )
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per phase")
    parser.add_argument("--json", type=Path, default=None, help="default bench/results/…")
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="run in this directory (new or empty) and keep it: the servers' data and "
        "every process's log",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        help="sample moderation, archive and nx-27017 with py-spy during each phase into "
        "this folder (<phase>-<process>.txt), and print where their time went",
    )
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    args = parser.parse_args()
    if not 1 <= args.batch <= 1000:
        parser.error("--batch: the endpoint takes 1 to 1,000 items")
    if args.comments < 20:
        parser.error("--comments must be at least 20")
    if not 1 <= args.replicas <= 8:
        parser.error("--replicas must be between 1 and 8")
    if args.compare_replicas and (args.replicas < 2 or args.chaos):
        parser.error("--compare-replicas needs --replicas 2 or more, and no --chaos")
    if args.freeze_seconds < 0:
        parser.error("--freeze-seconds must not be negative")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep: {args.keep} is not empty (an old run's servers would be reused)")
    if args.py_spy is not None:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    args.ceiling_events = args.ceiling_events or min(20_000, max(1000, args.comments))
    interrupt_on_sigterm()
    console = Console(stderr=True)
    console.print(f"code: {code_under_test()}; {load_average()}")
    if args.compare_replicas:
        result = asyncio.run(compare_replicas(args, console))
        for run in result["runs"]:
            show(Console(), run)
        gain = result["gain"]
        Console().print(
            f"gain with {args.replicas} processes of each consuming service: "
            f"[b]{fmt(gain, '.2f')}×[/b] comments/s end to end (aim ≥ 1.7×)"
        )
    else:
        result = asyncio.run(storm(args, console))
        show(Console(), result)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path: Path = args.json or RESULTS / f"storm-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    console.print(f"figures: {path}")
    if args.keep is not None:
        console.print(f"data and logs kept in {args.keep}")
    if args.py_spy is not None:
        for phase in ("full", "half"):
            for name in (*(n.value for n in PROFILED), "store"):
                if (args.py_spy / f"{phase}-{name}.txt").exists():
                    summarise_profile(args.py_spy / f"{phase}-{name}.txt", 15)


if __name__ == "__main__":
    main()

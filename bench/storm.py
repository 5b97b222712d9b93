"""A comment storm end to end (issue 13): N comments through moderation's ingest
endpoint, each followed to its end — classified, a case where the policy asks one,
escalated if a threat, its record in the archive — against a ceiling measured in the
same run on the same nats-server and nx-27017.

    .venv/bin/python bench/storm.py --comments 2000
    .venv/bin/python bench/storm.py --comments 100000 --rate 500 --json /tmp/storm.json

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

Nothing here is asserted; numbers depend on the machine.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
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
from nats.js.api import DeliverPolicy
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kanalvakt.processes import free_port, start_mail_sink, start_nats, start_store, stop
from kanalvakt.up import UpOptions, _check_config, _wait_ready, service_environment
from services.moderation.domain.classification import LABELS, classifier_for
from shared.auth import mint_token
from shared.bus.streams import EVENTS_STREAM
from shared.principal import Role
from shared.reference import REFERENCE_KOMMUN_CONFIG
from shared.settings import ServiceName, Settings
from shared.store import connect

SETS = (ROOT.parent / "shared/data/comments-dev.jsonl", ROOT / "tests/data/comments-labelled.jsonl")
RESULTS = ROOT / "bench" / "results"
# What `up` would otherwise take from this process's environment (tests/e2e/conftest.py).
UP_CHOOSES = ("AUTH_SECRET", "KOMMUN_CONFIG", "DEFAULT_KOMMUN", "SMTP_HOST", "NOTIFY_ACK_SECRET")
POLL_SECONDS = 0.5
IN_FLIGHT = 4  # POSTs at once while as fast as it goes: the endpoint is kept busy

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
# The archive facts each comment's events make; the store writes each needs, read from
# the code (issue 13 asks for an estimate, not a count: nx-27017 has no opcounters):
WRITES = {
    # moderation's ingest: the delivery with its event in the outbox, the outbox cleared
    "ingest": 2,
    # read_comment: the comment with its reading, the account's waiting time (L2)
    "classify": 2,
    # a case with its events in the outbox, the outbox cleared
    "case": 2,
    # archive, per event kept: the chain entry, the head anchor, the record folded
    "archive_fact": 3,
}


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
class Stack:
    data: Path
    servers: Servers
    kommun: str
    urls: dict[ServiceName, str]
    secret: str
    procs: dict[ServiceName, subprocess.Popen[bytes]]

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


def _ports() -> dict[str, int]:
    taken: set[int] = set()
    names = ("nats", "monitor", "store", "smtp", *(s.value for s in ServiceName))
    ports: dict[str, int] = {}
    for name in names:
        port = free_port()
        while port in taken:
            port = free_port()
        taken.add(port)
        ports[name] = port
    return ports


@contextlib.contextmanager
def infrastructure(tmp: Path) -> Iterator[tuple[UpOptions, Servers, subprocess.Popen[bytes]]]:
    """nats-server, nx-27017 and the mail sink as `up` starts them."""
    ports = _ports()
    kommuner = _check_config(REFERENCE_KOMMUN_CONFIG)
    opts = UpOptions(
        data_dir=tmp,
        host=HOST,
        nats_port=ports["nats"],
        nats_monitor_port=ports["monitor"],
        store_port=ports["store"],
        smtp_port=ports["smtp"],
        http_ports={s: ports[s.value] for s in ServiceName},
        kommun_config=REFERENCE_KOMMUN_CONFIG,
        default_kommun=kommuner.default,
    )
    nats_proc = start_nats(tmp / "nats", HOST, opts.nats_port, opts.nats_monitor_port)
    try:
        store_proc = start_store(tmp / "store", HOST, opts.store_port)
        try:
            mail = start_mail_sink(tmp / "mail", HOST, opts.smtp_port)
            try:
                yield (
                    opts,
                    Servers(
                        f"nats://{HOST}:{opts.nats_port}",
                        f"mongodb://{HOST}:{opts.store_port}",
                        nats_proc,
                        store_proc,
                    ),
                    mail,
                )
            finally:
                stop(mail)
        finally:
            stop(store_proc)
    finally:
        stop(nats_proc)


@contextlib.contextmanager
def services(
    opts: UpOptions, log_level: str
) -> Iterator[tuple[dict[ServiceName, subprocess.Popen[bytes]], str]]:
    """The four services as `up` starts them, logs to files in the data dir."""
    environ = {k: v for k, v in os.environ.items() if k not in UP_CHOOSES}
    env = service_environment(opts, environ) | {"LOG_LEVEL": log_level}
    procs: dict[ServiceName, subprocess.Popen[bytes]] = {}
    try:
        for name in ServiceName:
            with (opts.data_dir / f"{name.value}.log").open("ab") as log:
                procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "kanalvakt", "run", name.value],
                    env=env | {"HTTP_PORT": str(opts.http_ports[name])},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        for name, proc in procs.items():
            url = f"http://{opts.host}:{opts.http_ports[name]}/readyz"
            _wait_ready(url, proc, opts.ready_timeout, [])
        yield procs, env["AUTH_SECRET"]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            stop(proc)


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


async def observe(nats_url: str, kommun: str, seen: Seen) -> Any:
    """Ordered ephemeral consumers from now on: each event's arrival time by comment."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    where = {
        "comment.received": seen.received,
        "comment.flagged": seen.flagged,
        "moderation.escalated": seen.escalated,
        "comment.confidential": seen.confidential,
    }
    ids: set[str] = set()
    for subject, into in where.items():

        async def arrived(msg: Any, into: dict[str, tuple[float, str]] = into) -> None:
            now = time.time()
            body = json.loads(msg.data)
            if body["id"] in ids:
                seen.repeats[msg.subject] += 1
                return
            ids.add(body["id"])
            comment_id = body["data"].get("comment_id", body.get("subject", ""))
            into.setdefault(comment_id, (now, body["id"]))

        await js.subscribe(
            f"{subject}.{kommun}",
            cb=arrived,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )
    return nc


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
    at: dict[str, float] = field(default_factory=dict)  # wall time its POST started
    statuses: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


async def offer(
    stack: Stack,
    client: httpx.AsyncClient,
    items: Sequence[Planned],
    handle: str,
    rate: float | None,
    batch: int,
    sent: Sent,
    on_sent: Any,
) -> None:
    """POST the items to /ingest: at `rate` a second (batches every 0.1 s at most), or as
    fast as it takes them (`IN_FLIGHT` batches of `batch` at once)."""
    url = f"{stack.urls[ServiceName.MODERATION]}/ingest"
    headers = {"Authorization": f"Bearer {stack.token(Role.CONNECTOR)}"}

    async def post(chunk: Sequence[Planned]) -> None:
        body = [inbound(i, handle) for i in chunk]
        now = time.time()
        for item in chunk:
            sent.at[item.comment_id] = now
        for attempt in range(5):
            try:
                answer = await client.post(url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                sent.errors.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            if answer.status_code in (202, 207):
                sent.statuses.update(r["status"] for r in answer.json())
            else:
                sent.errors.append(f"{answer.status_code}: {answer.text[:300]}")
                sent.statuses["refused"] += len(chunk)
            break
        on_sent(len(chunk))

    if rate is None:
        chunks = [items[i : i + batch] for i in range(0, len(items), batch)]
        queue: asyncio.Queue[Sequence[Planned]] = asyncio.Queue()
        for chunk in chunks:
            queue.put_nowait(chunk)

        async def worker() -> None:
            while not queue.empty():
                await post(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
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
    async with httpx.AsyncClient(timeout=60) as client:
        phase.started = time.time()
        sender = asyncio.create_task(
            offer(
                stack,
                client,
                phase.items,
                handle,
                phase.rate,
                batch,
                phase.sent,
                lambda k: progress.advance(tasks["offered"], k),
            )
        )
        deadline = time.monotonic() + limit_s
        classified_at = archived_at = 0.0
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            if sender.done() and not phase.offered_s:
                sender.result()
                phase.offered_s = time.time() - phase.started
            classified = await db["moderation"]["comments"].estimated_document_count()
            records = await db["archive"]["records"].estimated_document_count()
            classified -= baseline["comments"]
            records -= baseline["records"]
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
                and received == n
                and cases == len(flagged_ids)
                and escalated == len(threat_ids)
                and classified_at
                and archived_at
            ):
                events_done = max(
                    seen.received[ids[-1]][0],
                    *(seen.flagged[c][0] for c in flagged_ids[-1:]),
                )
                phase.finished = max(events_done, classified_at, archived_at)
                phase.complete = True
                break
        if not sender.done():
            sender.cancel()
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


async def ends(
    phases: list[Phase], seen: Seen, db: Any, kommun: str, account_id: str
) -> dict[str, Any]:
    """Every comment followed to its end, read from the stores once the storm is over."""
    all_items = [i for p in phases for i in p.items]
    labels: dict[str, str] = {}
    async for doc in db["moderation"]["comments"].find(
        {"account_id": account_id}, {"_id": 1, "label": 1}
    ):
        labels[str(doc["_id"])] = str(doc.get("label"))
    case_ids: set[str] = set()
    async for doc in db["moderation"]["cases"].find({"account_id": account_id}, {"_id": 1}):
        case_ids.add(str(doc["_id"]))
    kept: dict[str, float] = {}  # event id -> when the archive kept it
    async for doc in db["archive"]["entries"].find(
        {"kommun": kommun, "account_id": account_id}, {"event_id": 1, "recorded_at": 1}
    ):
        at = doc["recorded_at"]
        kept[str(doc["event_id"])] = (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
    record_ids: set[str] = set()
    async for doc in db["archive"]["records"].find({"account_id": account_id}, {"_id": 1}):
        record_ids.add(str(doc["_id"]))

    counts: Counter[str] = Counter()
    wrong_label: list[str] = []
    for item in all_items:
        c = item.comment_id
        counts["comments"] += 1
        counts["received_event"] += c in seen.received
        counts["classified"] += c in labels
        if labels.get(c) == item.label:
            counts["classified_as_intended"] += 1
        elif c in labels and len(wrong_label) < 10:
            wrong_label.append(f"{c}: {labels[c]} (meant {item.label}: {item.text[:60]!r})")
        wants_case = item.label != "keep"
        counts["cases_expected"] += wants_case
        counts["cases_opened"] += wants_case and c in case_ids
        counts["cases_unexpected"] += (not wants_case) and c in case_ids
        counts["flagged_event"] += c in seen.flagged
        counts["threats"] += item.category == "threat"
        counts["escalated_event"] += c in seen.escalated
        counts["records"] += c in record_ids
        facts = [seen.received.get(c), seen.flagged.get(c), seen.escalated.get(c)]
        facts.append(seen.confidential.get(c))
        events = [f[1] for f in facts if f is not None]
        counts["facts_expected"] += len(events)
        counts["facts_archived"] += sum(1 for e in events if e in kept)
        end = (
            c in seen.received
            and labels.get(c) == item.label
            and (c in case_ids) == wants_case
            and (c in seen.escalated) == (item.category == "threat")
            and c in record_ids
            and all(e in kept for e in events)
        )
        counts["followed_to_end"] += end
    return {
        "counts": dict(counts),
        "all_followed_to_end": counts["followed_to_end"] == counts["comments"],
        "wrong_labels": wrong_label,
        "repeated_events": dict(seen.repeats),
        "kept": kept,
    }


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
        "ingest_errors": phase.sent.errors[:10],
        "latency_s": {
            "to_archived_record": quantiles(archived),
            "to_received_event": quantiles(received),
            "to_case_flagged_event": quantiles(flagged),
            "to_escalated_event": quantiles(escalated),
        },
    }


def writes_per_comment(items: Sequence[Planned], seen: Seen) -> float:
    """The estimate (WRITES) over this mix: what the ceiling's one insert per message is
    compared with."""
    total = 0
    for i in items:
        c = i.comment_id
        total += WRITES["ingest"] + WRITES["classify"]
        if i.label != "keep":
            total += WRITES["case"]
        facts = 1 + (c in seen.flagged) + (c in seen.escalated) + (c in seen.confidential)
        total += WRITES["archive_fact"] * facts
    return total / len(items)


def fmt(value: Any, spec: str = ".0f") -> str:
    return "–" if value is None else format(value, spec)


def show(console: Console, result: dict[str, Any]) -> None:
    table = Table(title=f"Comment storm: {result['comments']} comments", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    c, t, lat = result["ceiling"], result["throughput"], result["latency"]
    table.add_row("ceiling: raw pull + insert_one, msgs/s", fmt(c["consume_per_s"]))
    table.add_row("pipeline: comments/s end to end", fmt(t["comments_per_s"], ".1f"))
    table.add_row("  offered (POSTed) comments/s", fmt(t["offered_per_s"]))
    table.add_row("store writes per comment (estimate)", fmt(result["writes_per_comment"], ".1f"))
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
    counts = result["ends"]["counts"]
    table.add_row(
        "followed to their end", f"{counts.get('followed_to_end', 0)}/{counts.get('comments', 0)}"
    )
    table.add_row("dead letters on dlq.>", str(result["dead_letters"]))
    console.print(table)


async def dead_letters(nats_url: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        total = 0
        for stream in await js.streams_info():
            name = stream.config.name or ""
            subjects = await js.stream_info(name, subjects_filter="dlq.>")
            total += sum((subjects.state.subjects or {}).values())
        return total
    finally:
        await nc.close()


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
        "seed": args.seed,
        "mix": dict(Counter(i.category for i in full)),
        "writes_estimate": WRITES,
    }
    with (
        tempfile.TemporaryDirectory(prefix="kvstorm-") as tmp,
        infrastructure(Path(tmp)) as (opts, servers, _mail),
    ):
        console.print(f"[dim]ceiling: {args.ceiling_events} events…[/dim]")
        result["ceiling"] = await measure_ceiling(servers, args.ceiling_events)
        with services(opts, args.log_level) as (procs, secret):
            stack = Stack(
                Path(tmp),
                servers,
                opts.default_kommun,
                {s: f"http://{HOST}:{opts.http_ports[s]}" for s in ServiceName},
                secret,
                procs,
            )
            await run_storm(args, console, stack, full, half, result)
            result["services_alive_at_end"] = {s.value: p.poll() is None for s, p in procs.items()}
            result["dead_letters"] = await dead_letters(servers.nats_url)
            result["store_cpu_s"] = cpu_seconds(servers.store.pid)
        result["logs"] = "kept only while running (temporary directory)"
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
    client = connect(stack.servers.mongodb_url)
    db = {
        "moderation": client[Settings(service=ServiceName.MODERATION).database_name],
        "archive": client[Settings(service=ServiceName.ARCHIVE).database_name],
    }
    nc = await observe(stack.servers.nats_url, stack.kommun, seen)
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
            if args.py_spy is not None:  # the full phase only: where a storm's time goes
                for name in (ServiceName.MODERATION, ServiceName.ARCHIVE):
                    sampling.enter_context(
                        py_spy(stack.procs[name].pid, args.py_spy / f"{name.value}.txt")
                    )
                sampling.enter_context(py_spy(stack.servers.store.pid, args.py_spy / "store.txt"))
            await run_phase(
                stack, phases[0], handle, args.batch, seen, db, baseline, args.timeout, progress
            )
            sampling.close()
            throughput = phase_figures(phases[0], seen, {})
            half_rate = (throughput["comments_per_s"] or 0) / 2
            if args.latency_comments >= 0 and half_rate > 0:
                phases.append(Phase("half", half, half_rate))
                await run_phase(
                    stack, phases[1], handle, args.batch, seen, db, baseline, args.timeout, progress
                )
        await asyncio.sleep(1.0)  # events still in flight to the observers
        end = await ends(phases, seen, db, stack.kommun, account_id)
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
        wpc = writes_per_comment(t.items, seen)
        rate = result["throughput"]["comments_per_s"]
        ceiling = result["ceiling"]["consume_per_s"]
        result["writes_per_comment"] = wpc
        result["ratio_raw"] = rate / ceiling if rate else None
        result["ratio_by_writes"] = rate * wpc / ceiling if rate else None
        result["account_id"] = account_id
    finally:
        await nc.close()
        await client.close()


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
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per phase")
    parser.add_argument("--json", type=Path, default=None, help="default bench/results/…")
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        help="sample moderation, archive and nx-27017 with py-spy during the full phase "
        "into this folder, and print where their time went",
    )
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    args = parser.parse_args()
    if not 1 <= args.batch <= 1000:
        parser.error("--batch: the endpoint takes 1 to 1,000 items")
    if args.comments < 20:
        parser.error("--comments must be at least 20")
    if args.py_spy is not None:
        args.py_spy.mkdir(parents=True, exist_ok=True)
    args.ceiling_events = args.ceiling_events or min(20_000, max(1000, args.comments))
    interrupt_on_sigterm()
    console = Console(stderr=True)
    console.print(f"code: {code_under_test()}; {load_average()}")
    result = asyncio.run(storm(args, console))
    show(Console(), result)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path: Path = args.json or RESULTS / f"storm-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    console.print(f"figures: {path}")
    if args.py_spy is not None:
        for name in ("moderation", "archive", "store"):
            summarise_profile(args.py_spy / f"{name}.txt", 15)


if __name__ == "__main__":
    main()

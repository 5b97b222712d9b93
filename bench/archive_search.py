"""Requests for public records at the size of a busy account's year (issue 10, L4).

    .venv/bin/python bench/archive_search.py                     # 1,000,000 records
    .venv/bin/python bench/archive_search.py --records 100000    # a quicker run
    .venv/bin/python bench/archive_search.py --store /tmp/kv1m    # seed once, measure again

Starts its own nx-27017 on a free port and seeds N records of one account, spread evenly
over 2026, straight into the store's document shape: each record folded by the archive's
own `fold` from a comment's fact (5% edited, 1% removed), written with the records
repository's Mapper (`Mapper(Record, record_fields)`, so the derived query fields are
the real ones) and its chain entry with the chain's Mapper, by insert_many in batches,
with the archive's own indexes. Texts are Swedish-ish sentences drawn with Zipf-like word
frequencies; one rare word occurs in one record of 20,000.

Then, with the services' own client (shared.store.connect) but without its 5 s operation
timeout, so that a slow answer is timed rather than cut off (each row says whether it
would have outlasted the timeout, which the API answers with 503):
1. WORD SEARCH: the rare word in the account, as GET /records/search does it
   (SearchStore.page, first page of 100, the archivist's word list), and the full result
   (SearchStore.ids, every matching id); also a common word's first page;
2. EXPORT: a date range holding 10,000 records through the real export path
   (handlers.search.export, JSON, the body read to the end: ids, records in batches,
   their chain hashes, masking, JSON);
3. CEILINGS, same run, same store: a plain indexed find of the same number of documents
   (100 for the first page, 10,000 for the export) by (kommun, account_id, dated).

Printed: absolute seconds, the ratios path/ceiling, and whether the targets (word search
< 2 s, export of 10,000 < 10 s) hold. Nothing here is asserted.
"""

import argparse
import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pymongo
from _local import HOST, code_under_test, interrupt_on_sigterm, load_average
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from kanalvakt.processes import free_port, start_store, stop
from services.archive.domain import chain
from services.archive.domain.chain import Entry
from services.archive.domain.records import Fact, FactKind, Record, RecordKind, fold
from services.archive.domain.search import Filters, record_fields
from services.archive.handlers.search import Format, export
from services.archive.store import ArchiveStore
from shared.kommun import load_kommun_config
from shared.principal import Principal, Role
from shared.reference import REFERENCE_KOMMUN_CONFIG
from shared.service import Dependencies
from shared.store import OPERATION_TIMEOUT_SECONDS, connect
from shared.unit_of_work import Mapper

KOMMUN = load_kommun_config(REFERENCE_KOMMUN_CONFIG)
ACCOUNT = "01BENCHACCOUNT000000000000"
RARE = "snöskottningsentreprenören"
RARE_EVERY = 20_000
BATCH = 1_000
YEAR = datetime(2026, 1, 1, tzinfo=UTC)
EXPORTED = 10_000
UNBOUNDED_SECONDS = 600
ARCHIVIST = Principal("bench", "Bench Arkivarie", frozenset({Role.ARCHIVIST}), kommun=KOMMUN.id)

# Function words first (the most frequent), then a kommun's everyday vocabulary.
VOCABULARY = (
    "och att det som en på är av för med till den har inte om ett de jag men så vi var "
    "kan ni man här från när alla eller nu hur vad också bara mycket ska måste skulle "
    "kommunen vägen skolan snö plogning parkering bussen gatan barnen förskolan cykelbanan "
    "bygglov avgift biblioteket simhallen återvinningen sophämtningen vatten avloppet "
    "belysningen gångvägen trafiken hastigheten övergångsstället detaljplanen idrottshallen "
    "äldreboendet hemtjänsten kollektivtrafiken hållplatsen tidtabellen vägarbetet "
    "grusvägen halkbekämpning sandning lekplatsen badplatsen renhållningen nedskräpning "
    "tack fråga svar varför varje igen redan fortfarande aldrig alltid imorgon idag igår "
    "bra dåligt fint skönt tråkigt dyrt billigt snabbt långsamt farligt säkert stängt öppet"
)
WORDS = VOCABULARY.split()
WEIGHTS = [1 / (rank + 1) ** 1.05 for rank in range(len(WORDS))]


def text(rng: random.Random, i: int) -> str:
    words = rng.choices(WORDS, WEIGHTS, k=rng.randint(6, 30))
    if i % RARE_EVERY == RARE_EVERY // 2:
        words.insert(rng.randrange(len(words)), RARE)
    sentence = " ".join(words)
    return sentence[0].upper() + sentence[1:] + rng.choice((".", "?", "!", "…"))


def fact(i: int, kind: FactKind, at: datetime, data: dict[str, Any]) -> Fact:
    return Fact(
        f"bench-{i:08d}-{kind.value}",
        "comment.received",
        kind,
        f"facebook-bench{i:08d}",
        RecordKind.COMMENT,
        ACCOUNT,
        at,
        data,
    )


def seeded(
    i: int, rng: random.Random, span: timedelta, n: int, head: Entry | None
) -> tuple[Record, list[Entry]]:
    at = YEAR + span * i / n
    written = fact(
        i,
        FactKind.WRITTEN,
        at.replace(microsecond=at.microsecond // 1000 * 1000),
        {
            "comment_id": f"facebook-bench{i:08d}",
            "account_id": ACCOUNT,
            "account_name": "norakommun",
            "platform": "facebook",
            "author": {"id": f"{rng.randrange(10**6)}", "name": "Medborgare", "is_kommun": False},
            "text": text(rng, i),
            "links": [],
            "url": f"https://www.facebook.com/bench{i:08d}",
            "post_id": f"facebook-post{i // 50:06d}",
        },
    )
    facts = [written]
    if i % 20 == 3:
        facts.append(
            fact(i, FactKind.EDITED, written.at + timedelta(minutes=5), {"text": text(rng, i + 1)})
        )
    if i % 100 == 7:
        facts.append(fact(i, FactKind.REMOVED, written.at + timedelta(hours=1), {"how": "removed"}))
    record: Record | None = None
    entries = []
    for f in facts:
        head = chain.append(KOMMUN.id, head, f, f.at)
        entries.append(head)
        record = fold(record, f, head.id, KOMMUN.id)
    assert record is not None
    return record, entries


async def seed(url: str, n: int) -> float:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, tz_aware=True)
    db = client["bench"]
    await ArchiveStore(db, KOMMUN.id).create_indexes()
    records, entries = Mapper(Record, record_fields), Mapper(Entry)
    rng = random.Random(10)
    span = timedelta(days=365)
    head: Entry | None = None
    started = time.perf_counter()
    docs: list[dict[str, Any]] = []
    entry_docs: list[dict[str, Any]] = []
    for i in range(n):
        record, kept = seeded(i, rng, span, n, head)
        head = kept[-1]
        # As MongoRepository.add writes it.
        docs.append(records.to_document(record) | {"version": 1, "outbox": [], "handled": []})
        entry_docs += [entries.to_document(e) for e in kept]
        if len(docs) >= BATCH or i == n - 1:
            await db["records"].insert_many(docs, ordered=False)
            await db["entries"].insert_many(entry_docs, ordered=False)
            docs, entry_docs = [], []
            if (i + 1) % 50_000 == 0:
                rate = (i + 1) / (time.perf_counter() - started)
                print(f"  seeded {i + 1:,} records ({rate:,.0f}/s)", flush=True)
    await client.close()
    return time.perf_counter() - started


async def timed(what: Any, failed: Any = None) -> tuple[float, Any]:
    """Seconds and result, timed past the services' operation timeout (a slow answer is
    measured, not cut off); a store error is reported, not raised."""
    started = time.perf_counter()
    try:
        with pymongo.timeout(UNBOUNDED_SECONDS):
            result = await what
    except PyMongoError as exc:
        print(f"  failed after {time.perf_counter() - started:.2f} s: {type(exc).__name__}")
        result = failed
    return time.perf_counter() - started, result


async def measure(url: str, n: int) -> None:
    client = connect(url)
    db = client["bench"]
    store = ArchiveStore(db, KOMMUN.id)
    search = store.search
    deps = Dependencies(
        settings=cast(Any, None),
        kommun=KOMMUN,
        clock=lambda: datetime.now(UTC),
        store=store,
        uow=cast(Any, None),
    )
    rare = Filters(account_id=ACCOUNT, words=(RARE,))
    common = Filters(account_id=ACCOUNT, words=("plogning",))
    # A date range holding EXPORTED records, in the middle of the year.
    span = timedelta(days=365) * EXPORTED / n
    since = YEAR + timedelta(days=182)
    ranged = Filters(account_id=ACCOUNT, since=since, until=since + span)
    raw_range = {
        "kommun": KOMMUN.id,
        "account_id": ACCOUNT,
        "dated": {"$gte": since, "$lt": since + span},
    }

    async def plain(limit: int, query: dict[str, Any]) -> int:
        cursor = db["records"].find(query).sort([("dated", 1)]).limit(limit)
        return len([doc async for doc in cursor])

    async def exported() -> tuple[int, int]:
        made = await export(deps, ARCHIVIST, ranged, Format.JSON)
        size = 0
        async for chunk in made.body:
            size += len(chunk)
        return made.count, size

    # Warm the connection and SQLite's cache once (a timeout here is printed too).
    await timed(plain(10, {"kommun": KOMMUN.id, "account_id": ACCOUNT}), 0)
    rows = []
    first, page = await timed(search.page(rare, None, 100, registrar=False), [])
    rows.append(("word search, first page (rare word)", first, len(page)))
    full, hits = await timed(search.ids(rare, 50_001, registrar=False), [])
    rows.append(("word search, full result ids (rare word)", full, len(hits)))
    common_s, common_page = await timed(search.page(common, None, 100, registrar=False), [])
    rows.append(("word search, first page (common word)", common_s, len(common_page)))
    ceiling_page, got = await timed(plain(100, {"kommun": KOMMUN.id, "account_id": ACCOUNT}), 0)
    rows.append(("ceiling: indexed find of 100", ceiling_page, got))
    export_s, (count, size) = await timed(exported(), (0, 0))
    rows.append((f"export JSON, date range ({size / 1e6:.1f} MB)", export_s, count))
    ceiling_export, got = await timed(plain(EXPORTED, raw_range), 0)
    rows.append((f"ceiling: indexed find of {EXPORTED:,}", ceiling_export, got))
    await client.close()

    print()
    print(f"{'':52} {'seconds':>8} {'records':>8}")
    for label, seconds, count in rows:
        cut = "  (> the services' 5 s timeout)" if seconds > OPERATION_TIMEOUT_SECONDS else ""
        print(f"{label:52} {seconds:8.2f} {count:8,}{cut}")
    print()
    print(f"ratio word search first page / ceiling of 100:   {first / ceiling_page:8.1f}")
    print(f"ratio export / ceiling of {EXPORTED:,}:             {export_s / ceiling_export:8.1f}")
    word = max(first, full)
    print(f"target word search < 2 s:  {'holds' if word < 2 else 'MISSED'} ({word:.2f} s)")
    print(f"target export < 10 s:      {'holds' if export_s < 10 else 'MISSED'} ({export_s:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument(
        "--store",
        type=Path,
        help="keep the seeded store in this directory and reuse it on the next run "
        "(seeding 1,000,000 records takes about 25 minutes)",
    )
    args = parser.parse_args()
    interrupt_on_sigterm()
    print(f"code: {code_under_test()}; {load_average()}")
    with tempfile.TemporaryDirectory(prefix="kvbench-") as tmp:
        where = args.store or Path(tmp)
        seeded_marker = where / f"seeded-{args.records}"
        if not seeded_marker.exists() and (where / "store").exists():
            raise SystemExit(f"{where} holds a store not seeded with {args.records:,}: remove it")
        port = free_port()
        proc = start_store(where / "store", HOST, port)
        try:
            url = f"mongodb://{HOST}:{port}"
            if seeded_marker.exists():
                print(f"reusing {args.records:,} records seeded in {where}")
            else:
                seconds = asyncio.run(seed(url, args.records))
                print(f"seeded {args.records:,} records of one account in {seconds:.0f} s")
                seeded_marker.touch()
            asyncio.run(measure(url, args.records))
        finally:
            stop(proc)
    print(load_average())


if __name__ == "__main__":
    main()

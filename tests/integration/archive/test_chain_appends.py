"""A comment storm on one account (issue 13): the facts a consumer's batch brings at once
are appended by one writer, in one insert, and still make one chain without gaps, each
fact kept once (P3.7b, L4) — also when the same fact comes twice in a batch, when the
chain ran past its anchor (a crash between the two writes), and when two replicas
append to the same account at the same time."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from services.archive.domain import chain
from services.archive.domain.records import Fact, FactKind, RecordKind
from services.archive.store.records import ChainStore
from shared.store import Document

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def _fact(n: int, account: str = "acc-1") -> Fact:
    return Fact(
        event_id=f"ev-{n}",
        event_type="comment.received",
        kind=FactKind.WRITTEN,
        record_id=f"facebook-{n}",
        record_kind=RecordKind.COMMENT,
        account_id=account,
        at=T0 + timedelta(seconds=n),
        data={"text": f"Kommentar {n}", "author": {"id": f"u{n}", "name": "Eva"}},
    )


async def _chain_holds(store: ChainStore, account: str, facts: int) -> list[chain.Entry]:
    entries = [e async for e in store.of_account(account)]
    assert [e.seq for e in entries] == list(range(1, facts + 1))
    assert len({e.event_id for e in entries}) == facts
    assert chain.check(entries, {}, await store.anchor(account)) is None
    return entries


async def test_P3_7b_L4_a_batch_of_one_account_s_facts_makes_one_chain_each_fact_once(
    db: AsyncDatabase[Document],
) -> None:
    store = ChainStore(db, "nora")
    await store.create_indexes()
    facts = [_fact(n) for n in range(60)]
    # The same fact twice in the batch (a redelivery), and later again on its own.
    kept = await asyncio.gather(*(store.keep(f, T0) for f in [*facts, facts[7]]))
    assert kept[7] == kept[-1]
    again = await store.keep(facts[30], T0)
    assert again == kept[30]
    await _chain_holds(store, "acc-1", 60)
    anchor = await store.anchor("acc-1")
    assert anchor is not None
    assert anchor.seq == 60


async def test_P3_7b_the_chain_ran_past_its_anchor_the_next_fact_goes_after_its_end(
    db: AsyncDatabase[Document],
) -> None:
    first = ChainStore(db, "nora")
    await first.create_indexes()
    for n in range(3):
        await first.keep(_fact(n), T0)
    # A crash between an entry and its anchor: the anchor names seq 2, the chain ends at 3.
    await first.heads.update_one({"_id": "nora:acc-1"}, {"$set": {"seq": 2}})
    restarted = ChainStore(db, "nora")  # a new process: nothing cached
    entry = await restarted.keep(_fact(3), T0)
    assert entry.seq == 4
    await _chain_holds(restarted, "acc-1", 4)


async def test_P3_7b_L4_two_replicas_appending_to_one_account_make_one_chain(
    db: AsyncDatabase[Document],
) -> None:
    one, two = ChainStore(db, "nora"), ChainStore(db, "nora")
    await one.create_indexes()
    facts = [_fact(n) for n in range(80)]
    # Each replica gets half the facts, and both get a few of the same (redelivered to
    # the other after an ack that came too late).
    both = facts[:5]
    results = await asyncio.gather(
        *(one.keep(f, T0) for f in [*facts[0::2], *both]),
        *(two.keep(f, T0) for f in [*facts[1::2], *both]),
    )
    entries = await _chain_holds(one, "acc-1", 80)
    by_event = {e.event_id: e for e in entries}
    assert all(by_event[r.event_id] == r for r in results)


async def test_P3_7b_accounts_are_appended_apart(db: AsyncDatabase[Document]) -> None:
    store = ChainStore(db, "nora")
    await store.create_indexes()
    facts = [replace(_fact(n), account_id=f"acc-{n % 3}") for n in range(30)]
    await asyncio.gather(*(store.keep(f, T0) for f in facts))
    for account in ("acc-0", "acc-1", "acc-2"):
        await _chain_holds(store, account, 10)

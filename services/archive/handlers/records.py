"""Keeping facts: each event's fact appended to its account's chain, then folded into its
record (P3.7b, P5.2, P10.4, P10.6, L4, L6). Safe to run again: the chain keeps a fact
once (by event id) and a record folds an entry once.

A record is always the fold of its entries in chain order (what `verify` checks). Each
event type has its own consumer, so two facts of one record may be folded in the other
order, and a crash may leave an entry unfolded: a fact whose entry comes after every
entry the record folded is folded onto it; any other is folded by re-reading the
record's whole chain.
"""

from collections.abc import Callable

from services.archive import metrics
from services.archive.domain.chain import Entry, refold
from services.archive.domain.records import Fact, FactKind, Record, fold, of_a_record
from services.archive.store import ArchiveStore
from shared.service import Dependencies
from shared.unit_of_work import ATTEMPTS, AlreadyExists, Decision, StaleWrite

Deps = Dependencies[ArchiveStore]


class Culled(LookupError):
    """The fact was kept once and culled since (P10.2): it is not kept again (L7)."""

    def __init__(self, record_id: str) -> None:
        super().__init__(f"record_id: {record_id!r} was culled under a retention rule")
        self.record_id = record_id


async def keep(deps: Deps, fact: Fact) -> tuple[Record, bool]:
    """The fact kept and folded into its record: the record, and whether anything was new.
    Raises Culled for a fact whose entry a cull has emptied (an old event replayed)."""
    if not of_a_record(fact):
        raise ValueError(f"fact {fact.event_id} is of no record: keep_unfolded() keeps it")
    entry = await deps.store.chain.keep(fact, deps.clock())
    if entry.fact is None:
        raise Culled(fact.record_id)
    record, new = await _fold(deps, fact, entry)
    if new:
        metrics.FACTS_KEPT.labels(deps.kommun.id, fact.record_kind.value).inc()
    return record, new


async def keep_unfolded(deps: Deps, fact: Fact) -> Entry:
    """A fact of no record (a culling fact, domain.records.of_a_record) kept in its
    account's chain only: no record, so searches and counts never list it. Once."""
    if of_a_record(fact):
        raise ValueError(f"fact {fact.event_id} is of a record: keep() folds it")
    return await deps.store.chain.keep(fact, deps.clock())


async def _fold(deps: Deps, fact: Fact, entry: Entry) -> tuple[Record, bool]:
    repo, kommun = deps.store.records.repo, deps.kommun.id
    if fact.kind is FactKind.WRITTEN:
        # Usually its record's first fact: the record is added from its chain without
        # reading it first (one read per new record, not two; issue 13). The chain only
        # grows at its end, so what it held is a record's state that later facts fold onto.
        try:
            first = refold(await deps.store.chain.of_record(fact.record_id), kommun)
            if first is not None:
                return await deps.uow.add(repo, first), True
        except AlreadyExists:
            pass  # it has a record (a redelivery, or another fact first): fold onto it
    for _ in range(ATTEMPTS):
        found = await repo.get(fact.record_id)
        if found is not None and entry.id in found.item.entries:
            return found.item, False
        if found is None or entry.id < found.item.entries[-1]:
            rebuilt = refold(await deps.store.chain.of_record(fact.record_id), kommun)
            if rebuilt is None:  # every other fact of it culled meanwhile
                raise Culled(fact.record_id)
        else:
            rebuilt = fold(found.item, fact, entry.id, kommun)
        try:
            if found is None:
                return await deps.uow.add(repo, rebuilt), True
            return await deps.uow.apply(repo, found, _becomes(rebuilt)), True
        except (AlreadyExists, StaleWrite):
            continue  # another fact of it was folded meanwhile: fold onto that
    raise StaleWrite(fact.record_id)


def _becomes(record: Record) -> Callable[[Record], Decision[Record]]:
    return lambda _: (record, [])

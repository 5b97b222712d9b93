"""Keeping facts: each event's fact appended to its account's chain, then folded into its
record (P3.7b, P5.2, P10.4, P10.6, L4, L6). Safe to run again: the chain keeps a fact
once (by event id) and a record folds an entry once."""

from services.archive import metrics
from services.archive.domain.chain import Entry
from services.archive.domain.records import Fact, Record, fold
from services.archive.store import ArchiveStore
from shared.service import Dependencies
from shared.unit_of_work import ATTEMPTS, AlreadyExists, StaleWrite

Deps = Dependencies[ArchiveStore]


async def keep(deps: Deps, fact: Fact) -> tuple[Record, bool]:
    """The fact kept and folded into its record: the record, and whether anything was new."""
    entry = await deps.store.chain.keep(fact, deps.clock())
    record, new = await _fold(deps, fact, entry)
    if new:
        metrics.FACTS_KEPT.labels(deps.kommun.id, fact.record_kind.value).inc()
    return record, new


async def _fold(deps: Deps, fact: Fact, entry: Entry) -> tuple[Record, bool]:
    repo, kommun = deps.store.records.repo, deps.kommun.id
    for _ in range(ATTEMPTS):
        found = await repo.get(fact.record_id)
        if found is None:
            try:
                return await deps.uow.add(repo, fold(None, fact, entry.id, kommun)), True
            except AlreadyExists:
                continue  # its first fact was kept meanwhile by another event: fold into it
        if entry.id in found.item.entries:
            return found.item, False
        try:
            changed = await deps.uow.apply(
                repo, found, lambda record: (fold(record, fact, entry.id, kommun), [])
            )
        except StaleWrite:
            continue
        return changed, True
    raise StaleWrite(fact.record_id)

"""Verification that nothing kept was changed (P3.7b, L6): every account's hash chain
re-checked link by link (each tombstone proved by the culling log and by a culling fact
in the chain itself, the chain no shorter than its head anchor), and every record
compared with the fold of its chain entries. Run by `kanalvakt archive verify` and
periodically by the service (the metric `kanalvakt_archive_verify_failures`), which first
finishes any cull a crash left half done (P10.2).

A record a cull has begun to remove (its log unfinished, some of its entries already
tombstones of that log) is reported as being culled, not as broken: the cull under way,
the next cull run or the periodic check finishes it. A cull may run while verify reads,
so nothing is reported broken on what verify read first: the culling logs are read after
the account's chain (a log is written before its tombstones), and a record that differs
from its entries is read again with its entries and the logs its tombstones name."""

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime

from services.archive import metrics
from services.archive.domain.chain import Broken, ChainCheck, Entry, refold
from services.archive.domain.records import Record, RecordKind
from services.archive.handlers.culling import finish_unfinished
from services.archive.store import ArchiveStore
from shared.service import Dependencies, Deployment, periodically
from shared.unit_of_work import UnitOfWork

log = logging.getLogger("kanalvakt.archive.verify")

Progress = Callable[[int], None]  # called with how many more entries were checked


@dataclass
class Report:
    kommun: str
    accounts: int = 0
    entries: int = 0
    records: int = 0
    broken: list[tuple[str, Broken]] = field(default_factory=list)  # (account, first break)
    mended: list[str] = field(default_factory=list)  # records whose kept facts were folded
    being_culled: list[str] = field(default_factory=list)  # records of an unfinished cull

    @property
    def ok(self) -> bool:
        return not self.broken


async def verify(
    store: ArchiveStore, progress: Progress | None = None, mend: UnitOfWork | None = None
) -> Report:
    """Every account's chain and records; the first broken link of each broken account.
    With `mend` (the service's unit of work), facts kept but never folded into their
    record (a crash between the two writes) are folded in; without, they are reported."""
    report = Report(store.kommun)
    for account_id in await store.chain.accounts():
        report.accounts += 1
        broken = await verify_account(store, account_id, report, progress, mend)
        if broken is not None:
            report.broken.append((account_id, broken))
    return report


async def verify_account(
    store: ArchiveStore,
    account_id: str,
    report: Report,
    progress: Progress | None = None,
    mend: UnitOfWork | None = None,
) -> Broken | None:
    # The anchor before the chain: an entry kept meanwhile only lengthens the chain.
    anchor = await store.chain.anchor(account_id)
    checking = ChainCheck(anchor=anchor)
    # The whole chain, past a break too: a tombstone's proof comes later in it.
    async for entry in store.chain.of_account(account_id):
        report.entries += 1
        if progress is not None:
            progress(1)
        checking.add(entry)
    # The logs after the chain: each is written before its tombstones (and its chained
    # fact before them too), so every tombstone read above is listed by now.
    culled = await store.culling.culled_entries(account_id)
    if (broken := checking.finish(culled)) is not None:
        return broken
    return await _records_match(store, account_id, report, mend)


async def _records_match(
    store: ArchiveStore,
    account_id: str,
    report: Report,
    uow: UnitOfWork | None,
) -> Broken | None:
    """Merges the account's records (by id) with its entries (by record): each record must
    be exactly what its entries fold to, and no record may be without entries."""
    stored = aiter(store.records.of_account_by_id(account_id))
    record = await anext(stored, None)
    async for record_id, group in _by_record(store.chain.of_account_by_record(account_id)):
        if record is not None and record.id < record_id:
            return Broken(f"record {record.id}", "a record no chain entry keeps")
        expected = refold(group, store.kommun)
        here = record if record is not None and record.id == record_id else None
        if here is not None:
            report.records += 1
            record = await anext(stored, None)
        if here != expected and (broken := await _settled(store, record_id, report, uow)):
            return broken
    if record is not None:
        return Broken(f"record {record.id}", "a record no chain entry keeps")
    return None


async def _settled(
    store: ArchiveStore,
    record_id: str,
    report: Report,
    uow: UnitOfWork | None,
) -> Broken | None:
    """A record that differed from its entries, read again: facts kept while this run read
    the store are no change, nor are facts kept but not yet folded into it (a handler that
    stopped between the two writes), which `uow` (the service's periodic check) folds in,
    nor a record a cull not yet finished (its log read now) has begun to remove. Anything
    else is a change."""
    entries = await store.chain.of_record(record_id)
    found = await store.records.repo.get(record_id)
    expected = refold(entries, store.kommun)
    record = found.item if found else None
    if record == expected:
        return None
    if await _being_culled(store, entries):
        # Its tombstones were proved by the chain check; the record goes (or becomes the
        # fold of what is left) when the cull finishes (P10.2).
        report.being_culled.append(record_id)
        return None
    if record is not None and expected is not None:
        folded = [e for e in entries if e.id in record.entries]
        if len(folded) != len(record.entries) or refold(folded, store.kommun) != record:
            return Broken(f"record {record_id}", _difference(expected, record))
    elif expected is None:
        return Broken(f"record {record_id}", "the record stands but its facts were culled")
    # Facts kept but not folded, or the record's first fact not folded at all.
    if uow is None:
        return Broken(f"record {record_id}", "facts kept but not folded into the record")
    if found is None:
        await uow.add(store.records.repo, expected)
    else:
        await uow.apply(store.records.repo, found, lambda _: (expected, []))
    report.mended.append(record_id)
    log.warning("archive of kommun %s: record %s mended from its chain", store.kommun, record_id)
    return None


async def _being_culled(store: ArchiveStore, entries: list[Entry]) -> bool:
    """Whether a culling log that made one of these tombstones is unfinished now."""
    for log_id in sorted({e.culled_by for e in entries if e.fact is None and e.culled_by}):
        found = await store.culling.log.get(log_id)
        if found is not None and found.item.finished_at is None:
            return True
    return False


async def _by_record(entries: AsyncIterator[Entry]) -> AsyncIterator[tuple[str, list[Entry]]]:
    batch: list[Entry] = []
    async for entry in entries:
        if batch and batch[-1].record_id != entry.record_id:
            yield batch[-1].record_id, batch
            batch = []
        batch.append(entry)
    if batch:
        yield batch[-1].record_id, batch


def _difference(expected: Record | None, stored: Record) -> str:
    if expected is None:
        return "the record stands but its facts were culled"
    fields = [
        name
        for name in expected.__dataclass_fields__
        if getattr(expected, name) != getattr(stored, name)
    ]
    return f"the record differs from its chain entries in: {', '.join(fields)}"


async def _verify_kommun(deps: Dependencies[ArchiveStore], now: datetime) -> None:
    # A cull a crash left half done would show as being culled until the next cull
    # run: finished first (P10.2, L6). Should that fail, the archive is verified all
    # the same: a failed finish must not hide a change from the metric.
    try:
        await finish_unfinished(deps)
    except Exception:
        log.exception("archive of kommun %s: finishing unfinished culls failed", deps.kommun.id)
    report = await verify(deps.store, mend=deps.uow)
    metrics.VERIFY_FAILURES.labels(deps.kommun.id).set(len(report.broken))
    metrics.VERIFIED_AT.labels(deps.kommun.id).set(now.timestamp())
    for account_id, broken in report.broken:
        log.error("archive of kommun %s, account %s: %s", deps.kommun.id, account_id, broken)
    await count_records(deps)


async def count_records(deps: Dependencies[ArchiveStore]) -> None:
    """The records gauge, by kind and state (P5.2, L6)."""
    counts = await deps.store.records.counts()
    for kind in RecordKind:
        for state, n in counts.get(kind.value, {}).items():
            metrics.RECORDS.labels(deps.kommun.id, kind.value, state).set(n)


async def verify_forever(deployment: Deployment[ArchiveStore]) -> None:
    interval = deployment.settings.archive_verify_interval_seconds
    await periodically(deployment, _verify_kommun, "verifying the archive", interval)

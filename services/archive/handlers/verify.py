"""Verification that nothing kept was changed (P3.7b, L6): every account's hash chain
re-checked link by link, and every record compared with the fold of its chain entries.
Run by `kanalvakt archive verify` and periodically by the service (the metric
`kanalvakt_archive_verify_failures`)."""

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime

from services.archive import metrics
from services.archive.domain.chain import Broken, ChainCheck, Entry, refold
from services.archive.domain.records import Record, RecordKind
from services.archive.store import ArchiveStore
from shared.service import Dependencies, Deployment, periodically

log = logging.getLogger("kanalvakt.archive.verify")

Progress = Callable[[int], None]  # called with how many more entries were checked


@dataclass
class Report:
    kommun: str
    accounts: int = 0
    entries: int = 0
    records: int = 0
    broken: list[tuple[str, Broken]] = field(default_factory=list)  # (account, first break)

    @property
    def ok(self) -> bool:
        return not self.broken


async def verify(store: ArchiveStore, progress: Progress | None = None) -> Report:
    """Every account's chain and records; the first broken link of each broken account."""
    report = Report(store.kommun)
    for account_id in await store.chain.accounts():
        report.accounts += 1
        broken = await verify_account(store, account_id, report, progress)
        if broken is not None:
            report.broken.append((account_id, broken))
    return report


async def verify_account(
    store: ArchiveStore, account_id: str, report: Report, progress: Progress | None = None
) -> Broken | None:
    culled = await store.culling.culled_entries(account_id)
    checking = ChainCheck(culled)
    async for entry in store.chain.of_account(account_id):
        report.entries += 1
        if progress is not None:
            progress(1)
        if checking.add(entry) is not None:
            return checking.broken
    return await _records_match(store, account_id, report)


async def _records_match(store: ArchiveStore, account_id: str, report: Report) -> Broken | None:
    """Merges the account's records (by id) with its entries (by record): each record must
    be exactly what its entries fold to, and no record may be without entries."""
    stored = aiter(store.records.of_account_by_id(account_id))
    record = await anext(stored, None)
    async for record_id, group in _by_record(store.chain.of_account_by_record(account_id)):
        if record is not None and record.id < record_id:
            return Broken(f"record {record.id}", "a record no chain entry keeps")
        expected = refold(group, store.kommun)
        if record is None or record.id != record_id:
            if expected is not None:
                return Broken(
                    f"record {record_id}", "its chain entries keep it, the record is gone"
                )
            continue  # every fact of it was culled, and so was the record
        report.records += 1
        if expected != record:
            return Broken(f"record {record_id}", _difference(expected, record))
        record = await anext(stored, None)
    if record is not None:
        return Broken(f"record {record.id}", "a record no chain entry keeps")
    return None


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
    report = await verify(deps.store)
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

"""Requests for public records (L4): search and export, masked (L7), logged.

Every search and export is written to the access log (who, when, which filters, which
format, how many records) before the answer goes out, and counted in
`kanalvakt_archive_requests`. What goes out is masked unless the caller is the registrar
(domain.search.shown). Marks (a registrar's secret passages) are facts of the record,
kept in its account's chain like every other (handlers.records.keep).
"""

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.archive import metrics
from services.archive.domain.records import Fact, FactKind, Record, stored_time
from services.archive.domain.search import (
    EXPORT_LIMIT,
    Cursor,
    Filters,
    is_registrar,
    mark_violations,
    shown,
)
from services.archive.handlers.records import Deps, keep
from services.archive.render import pdf_a, templates
from shared.ids import new_id
from shared.principal import Principal
from shared.rules import RuleViolations, violation
from shared.unit_of_work import NotFound

# A PDF is read by people: beyond this many records, JSON or CSV (or narrower filters).
PDF_LIMIT = 2_000


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"
    PDF = "pdf"


async def _log(
    deps: Deps, by: Principal, action: str, filters: Filters, count: int, fmt: str, **more: Any
) -> None:
    await deps.store.search.logged(
        {
            "_id": new_id(),
            "at": deps.clock(),
            "action": action,
            "subject": by.subject,
            "name": by.name,
            "roles": sorted(r.value for r in by.roles),
            "filters": filters.described(),
            "format": fmt,
            "count": count,
            **more,
        }
    )
    metrics.REQUESTS.labels(deps.kommun.id, action, fmt).inc()


async def search(
    deps: Deps, by: Principal, filters: Filters, after: Cursor | None, limit: int
) -> list[Record]:
    """One page of matching records, oldest first, as the caller may see them."""
    registrar = is_registrar(by.roles)
    page = await deps.store.search.page(filters, after, limit, registrar=registrar)
    await _log(
        deps,
        by,
        "search",
        filters,
        len(page),
        "json",
        after=f"{after.dated.isoformat()} {after.record_id}" if after else None,
    )
    return [shown(record, registrar=registrar) for record in page]


# Export


def _limit_exceeded(limit: int, fmt: Format) -> RuleViolations:
    return violation(
        "format" if fmt is Format.PDF else "filters",
        "L4",
        f"Fler än {limit} handlingar matchar: begränsa sökningen (t.ex. med datum) "
        + ("eller välj JSON eller CSV." if fmt is Format.PDF else "och exportera i flera delar."),
        f"more than {limit} records match: narrow the filters (e.g. by date)"
        + (" or choose JSON or CSV" if fmt is Format.PDF else " and export in parts"),
    )


@dataclass(frozen=True)
class Export:
    count: int
    media_type: str
    filename: str
    body: AsyncIterator[bytes]


async def export(deps: Deps, by: Principal, filters: Filters, fmt: Format) -> Export:
    """Every matching record with its versions, states and chain hashes, masked for the
    caller; refused (422) before anything is sent when more match than the limit."""
    registrar = is_registrar(by.roles)
    limit = PDF_LIMIT if fmt is Format.PDF else EXPORT_LIMIT
    ids = await deps.store.search.ids(filters, limit + 1, registrar=registrar)
    if len(ids) > limit:
        raise _limit_exceeded(limit, fmt)
    await _log(deps, by, "export", filters, len(ids), fmt.value)
    stamp = deps.clock().strftime("%Y%m%dT%H%M%SZ")
    name = f"handlingar-{deps.kommun.id}-{stamp}.{fmt.value}"
    items = _items(deps, ids, registrar)
    if fmt is Format.JSON:
        return Export(len(ids), "application/json", name, _json(items))
    if fmt is Format.CSV:
        return Export(len(ids), "text/csv; charset=utf-8", name, _csv(items))
    pdf = await _pdf(deps, by, filters, [item async for item in items])
    return Export(len(ids), "application/pdf", name, _once(pdf))


async def _items(deps: Deps, ids: Sequence[str], registrar: bool) -> AsyncIterator[dict[str, Any]]:
    batch: list[Record] = []

    async def flush() -> AsyncIterator[dict[str, Any]]:
        hashes = await deps.store.search.hashes(batch)
        for record in batch:
            yield exported(shown(record, registrar=registrar), hashes[record.id])

    async for record in deps.store.search.by_ids(ids):
        batch.append(record)
        if len(batch) >= 500:
            async for item in flush():
                yield item
            batch = []
    if batch:
        async for item in flush():
            yield item


def _time(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def exported(record: Record, hashes: list[dict[str, Any]]) -> dict[str, Any]:
    """One record as an export shows it (already masked for the caller)."""
    return {
        "id": record.id,
        "kind": record.kind.value,
        "account_id": record.account_id,
        "account_name": record.account_name,
        "platform": record.platform,
        "author_kind": record.author.kind.value if record.author else None,
        "author": record.author.name if record.author else None,
        "origin": record.origin.value if record.origin else None,
        "origin_at": _time(record.origin_at),
        "url": record.url,
        "sealed": record.sealed,
        "diary_number": record.registration.diary_number if record.registration else None,
        "versions": [
            {"number": v.number, "at": _time(v.at), "text": v.text, "links": list(v.links)}
            for v in record.versions
        ],
        "states": [
            {
                "state": s.state.value,
                "at": _time(s.at),
                "by": s.by,
                "category": s.category,
                "rules": list(s.rules),
            }
            for s in record.states
        ],
        "hashes": hashes,
    }


async def _json(items: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for item in items:
        yield (b"\n" if first else b",\n") + json.dumps(item, ensure_ascii=False).encode()
        first = False
    yield b"\n]\n"


CSV_HEADER = (
    "record_id",
    "kind",
    "account_id",
    "author_kind",
    "origin",
    "origin_at",
    "version",
    "version_at",
    "text",
    "states",
    "diary_number",
    "entry_hashes",
)


async def _csv(items: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """One row per version of each record; a record's states and chain hashes repeated
    on each of its rows, so that every row stands on its own."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    yield out.getvalue().encode()
    async for item in items:
        out.seek(0)
        out.truncate()
        states = "; ".join(f"{s['state']} {s['at']}" for s in item["states"])
        hashes = " ".join(h["hash"] for h in item["hashes"])
        for v in item["versions"] or [{"number": "", "at": "", "text": ""}]:
            writer.writerow(
                (
                    item["id"],
                    item["kind"],
                    item["account_id"],
                    item["author_kind"] or "",
                    item["origin"] or "",
                    item["origin_at"] or "",
                    v["number"],
                    v["at"],
                    v["text"],
                    states,
                    item["diary_number"] or "",
                    hashes,
                )
            )
        yield out.getvalue().encode()


async def _pdf(deps: Deps, by: Principal, filters: Filters, items: list[dict[str, Any]]) -> bytes:
    html = (
        templates()
        .get_template("export.html")
        .render(
            kommun=deps.kommun.kommun.name,
            made_at=_time(deps.clock()),
            by=by.name or by.subject,
            filters=filters.described(),
            items=items,
        )
    )
    return await asyncio.to_thread(pdf_a, html)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


# Marks (L7, OSL)


async def mark(
    deps: Deps, by: Principal, record_id: str, version: int, start: int, end: int, reason: str
) -> Record:
    """A registrar marks a passage of one version secret: kept as a fact in the chain
    (L7); everyone else then sees it masked."""
    record = await deps.store.records.get(record_id)
    if record is None:
        raise NotFound("record_id", record_id)
    if wrong := mark_violations(record, version, start, end, reason):
        raise RuleViolations(wrong)
    marked = next(v for v in record.versions if v.number == version)
    fact = Fact(
        event_id=f"mark-{new_id()}",
        event_type="archive.marked",
        kind=FactKind.MARKED,
        record_id=record.id,
        record_kind=record.kind,
        account_id=record.account_id,
        at=stored_time(deps.clock()),
        data={
            "version": version,
            "version_entry": marked.entry,
            "start": start,
            "end": end,
            "reason": reason.strip(),
            "by": by.subject,
        },
    )
    kept, _ = await keep(deps, fact)
    return kept


async def access_log(deps: Deps, before: datetime | None, limit: int) -> list[dict[str, Any]]:
    return await deps.store.search.access_log(before, limit)

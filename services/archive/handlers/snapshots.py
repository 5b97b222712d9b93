"""PDF/A snapshots of accounts (P10.5, L8): taken at a larger change (`account.updated`),
before closing (`account.closed`), when an archivist asks, and every `interval_days` by
the periodic task; each once per key, stored with its SHA-256, `snapshot.created`
announced from the snapshot's own document (its outbox).

Rendering is CPU-heavy (WeasyPrint): it runs in a thread, never on the event loop.
"""

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from services.archive import metrics
from services.archive.domain.records import Record, record_id_of_account, stored_time
from services.archive.domain.snapshots import (
    PDF_VARIANT,
    Item,
    Reason,
    Snapshot,
    context,
    due_at,
    item,
    recent_since,
    snapshot_id,
)
from services.archive.render import pdf_a, templates
from services.archive.store import ArchiveStore
from services.archive.store.snapshots import MAX_PDF_BYTES, SnapshotFile
from shared.events import SnapshotCreated, SnapshotCreatedData
from shared.kommun import Snapshots
from shared.service import Dependencies, Deployment, each_kommun, periodically
from shared.unit_of_work import AlreadyExists, NotFound

log = logging.getLogger("kanalvakt.archive.snapshots")

Deps = Dependencies[ArchiveStore]

__all__ = ["Reason", "render", "snapshots_due", "snapshots_due_forever", "take", "take_due"]


async def take(
    deps: Deps, account_id: str, reason: Reason, *, key: str, now: datetime | None = None
) -> Snapshot:
    """A snapshot of the account now; once per `key` (the event that asked for it): the
    one taken before under the key if there is one. NotFound naming `account_id` if the
    archive keeps no such account."""
    store = deps.store.snapshots
    sid = snapshot_id(deps.kommun.id, account_id, key)
    if (done := await store.info(sid)) is not None:
        return done
    account = await deps.store.records.get(record_id_of_account(account_id))
    if account is None:
        raise NotFound("account_id", account_id)
    now = stored_time(now or deps.clock())
    rule = deps.kommun.archive.snapshots
    items = [
        item(r) for r in await store.recent(account_id, recent_since(now, rule), rule.max_items)
    ]
    pdf, dropped = await asyncio.to_thread(
        render, deps.kommun.kommun.name, account, items, reason, now, rule
    )
    snapshot = SnapshotFile(
        id=sid,
        kommun=deps.kommun.id,
        account_id=account_id,
        account_name=account.account_name,
        reason=reason,
        key=key,
        taken_at=now,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size_bytes=len(pdf),
        pdf_variant=PDF_VARIANT,
        items=len(items) - dropped,
        dropped=dropped,
        pdf=pdf,
    )
    created = SnapshotCreated.new(
        deps.kommun.id,
        account_id,
        SnapshotCreatedData(
            snapshot_id=sid,
            account_id=account_id,
            account_name=account.account_name,
            reason=reason,
            taken_at=now,
            sha256=snapshot.sha256,
            size_bytes=snapshot.size_bytes,
            pdf_variant=PDF_VARIANT,
        ),
        now,
    )
    try:
        await deps.uow.add(store.repo, snapshot, [created])
    except AlreadyExists:  # another replica, or a redelivery, took it meanwhile
        return await store.info(sid) or _info(snapshot)
    metrics.SNAPSHOTS.labels(deps.kommun.id, reason).inc()
    log.info("kommun %s: snapshot %s of account %s (%s)", deps.kommun.id, sid, account_id, reason)
    return _info(snapshot)


def _info(snapshot: SnapshotFile) -> Snapshot:
    fields: dict[str, Any] = asdict(snapshot)
    del fields["pdf"]
    return Snapshot(**fields)


def render(
    kommun_name: str,
    account: Record,
    items: Sequence[Item],
    reason: Reason,
    now: datetime,
    rule: Snapshots,
    limit: int = MAX_PDF_BYTES,
) -> tuple[bytes, int]:
    """The snapshot's PDF/A file, and how many of the oldest items were left out so that
    it fits the store (a document is at most 16 MB); the file says so when any were."""
    template = templates().get_template("snapshot.html")
    shown = list(items)  # newest first: the oldest go first
    dropped = 0
    while True:
        html = template.render(context(kommun_name, account, shown, dropped, reason, now, rule))
        pdf = pdf_a(html)
        if len(pdf) <= limit or not shown:
            return pdf, dropped
        # In proportion to the excess, with a margin, and at least one.
        keep = min(len(shown) - 1, int(len(shown) * limit / len(pdf) * 0.9))
        dropped += len(shown) - keep
        shown = shown[:keep]


async def take_due(deps: Deps, now: datetime) -> int:
    """P10.5, L8: every account not closed gets a snapshot `interval_days` after its last
    (or after its record was first kept). The key is the due time, so replicas sweeping
    at once take one. Sets the overdue gauge to the accounts still past due after trying
    (a rendering that failed); returns that number."""
    rule = deps.kommun.archive.snapshots
    store = deps.store.snapshots
    overdue = 0
    for account in await store.accounts():
        if account.closed_at is not None:
            continue
        due = due_at(account, await store.last_taken(account.account_id), rule)
        if due is None or due > now:
            continue
        try:
            await take(deps, account.account_id, "yearly", key=f"due {due.isoformat()}", now=now)
        except Exception as exc:  # one account's failure holds up none of the others
            log.warning(
                "kommun %s: the due snapshot of account %s failed: %r",
                deps.kommun.id,
                account.account_id,
                exc,
            )
        due = due_at(account, await store.last_taken(account.account_id), rule)
        if due is not None and due <= now:
            overdue += 1
    metrics.SNAPSHOTS_OVERDUE.labels(deps.kommun.id).set(overdue)
    return overdue


async def _take_due(deps: Deps, now: datetime) -> None:
    await take_due(deps, now)


async def snapshots_due(deployment: Deployment[ArchiveStore], now: datetime) -> None:
    """Every kommun's due snapshots, as of `now` (tests call this with their clock)."""
    await each_kommun(deployment, _take_due, "taking due snapshots", now)


async def snapshots_due_forever(deployment: Deployment[ArchiveStore]) -> None:
    interval = deployment.settings.archive_sweep_interval_seconds
    await periodically(deployment, _take_due, "taking due snapshots", interval)

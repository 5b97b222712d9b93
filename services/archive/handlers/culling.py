"""Culling under decided retention rules, and legal holds (P10.2, L6, L7).

A run finds the records each rule (the kommun's configuration, in its order) lets go,
leaves out whatever a hold in force protects and any confidential record not yet
registered (domain.culling.plan), and culls each rule's records per account. Without
transactions, culling is made safe against a crash by its order:

1. the culling log is written first, naming every chain entry of every record that goes
   with its hash (the proof, kept for ever);
2. the holds are asked again (L6): what one protects now is spared; a culling fact
   naming what goes (entries and hashes) is appended to the account's own chain, so
   that the chain proves its tombstones itself; then, each record asked once more just
   before it goes, each of its entries becomes a tombstone: its fact gone, its place and
   hashes kept, so the chain still links and `verify` finds the tombstone in the log
   and in the chained culling fact;
3. each record is deleted;
4. the log is marked finished, naming what went and what was spared and why, and
   `record.culled` leaves with it (its outbox).

A run first finishes every unfinished log a crash left behind, and so does the periodic
verification (handlers.verify). A dry run plans the same and changes nothing. Holds are
asked per record just before it goes, but without transactions a hold set in the very
moment between that read and the tombstone's write is not seen.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.archive import metrics
from services.archive.domain.chain import refold
from services.archive.domain.culling import (
    CulledEntry,
    CullLog,
    Hold,
    HoldScope,
    Spared,
    culling_fact,
    cutoff,
    finished,
    lift,
    may_go,
    plan,
    rule_for,
    spare,
    why_kept,
)
from services.archive.domain.records import Record
from services.archive.handlers.records import keep_unfolded
from services.archive.store import ArchiveStore
from services.archive.store.culling import LOG_PART
from shared.events import RecordCulled
from shared.events.record import RecordCulledData
from shared.ids import new_id
from shared.kommun import RetentionRule
from shared.service import Dependencies, Deployment, periodically
from shared.unit_of_work import ATTEMPTS, AlreadyExists, Decision, StaleWrite

log = logging.getLogger("kanalvakt.archive.culling")

Deps = Dependencies[ArchiveStore]


@dataclass
class RuleResult:
    """What one rule let go in one run (or would, in a dry run)."""

    rule_id: str
    decision: str
    count: int = 0
    record_ids: list[str] = field(default_factory=list)
    log_ids: list[str] = field(default_factory=list)


# Holds


async def set_hold(deps: Deps, hold: Hold, key: str | None = None) -> Hold:
    """L6: from now on nothing the hold covers is culled."""
    added = await deps.uow.add(deps.store.culling.holds, hold, key=key)
    await count_holds(deps)
    return added


async def lift_hold(deps: Deps, hold_id: str, by: str, reason: str) -> Hold:
    """L6: the hold stays on record, lifted, with who and why."""
    now = deps.clock()
    lifted = await deps.uow.change(
        deps.store.culling.holds,
        hold_id,
        lambda hold: (lift(hold, by, reason, now), []),
        field="hold_id",
    )
    await count_holds(deps)
    return lifted


async def count_holds(deps: Deps) -> list[Hold]:
    """The holds gauge, by scope; the holds in force."""
    holds = await deps.store.culling.holds_in_force()
    for scope in HoldScope:
        n = sum(1 for h in holds if h.scope is scope)
        metrics.HOLDS.labels(deps.kommun.id, scope.value).set(n)
    return holds


# Culling


async def cull(deps: Deps, now: datetime, dry_run: bool = False) -> list[RuleResult]:
    """Everything the kommun's retention rules let go now and no hold protects: culled
    (or, in a dry run, only listed), per rule in the configuration's order."""
    if not dry_run:
        await finish_unfinished(deps)
    holds = await count_holds(deps)
    rules = deps.kommun.archive.retention
    results = {r.id: RuleResult(r.id, r.decision) for r in rules}
    by_id = {r.id: r for r in rules}
    order = {r.id: i for i, r in enumerate(rules)}
    seen: set[str] = set()
    # Record ids per rule and account: what goes, gathered before anything goes.
    going: dict[tuple[str, str], list[str]] = {}
    for rule in rules:
        async for page in deps.store.culling.candidates(rule, cutoff(rule, now)):
            fresh = [r for r in page if r.id not in seen]
            seen.update(r.id for r in fresh)
            for decided in plan(rules, fresh, holds, now):
                for record in decided.records:
                    going.setdefault((decided.rule.id, record.account_id), []).append(record.id)
    for (rule_id, account_id), record_ids in sorted(going.items(), key=lambda g: order[g[0][0]]):
        result, ordered = results[rule_id], sorted(record_ids)
        if dry_run:
            result.record_ids += ordered
            result.count += len(ordered)
            continue
        for start in range(0, len(ordered), LOG_PART):
            done = await _cull(
                deps, by_id[rule_id], account_id, ordered[start : start + LOG_PART], now
            )
            if done is not None:
                result.record_ids += done.record_ids
                result.count += done.count
                result.log_ids.append(done.id)
    return [results[r.id] for r in rules if results[r.id].count]


async def _still_going(
    deps: Deps, rule: RetentionRule, record_ids: Sequence[str], now: datetime
) -> list[str]:
    """The records that still go under the rule as they and the holds are now: a hold
    set or a fact kept since the run planned is heeded."""
    holds = await deps.store.culling.holds_in_force()
    rules = deps.kommun.archive.retention
    going = []
    for record_id in record_ids:
        record = await deps.store.records.get(record_id)
        if record is None or not may_go(record, holds):
            continue
        chosen = rule_for(rules, record, now)
        if chosen is not None and chosen.id == rule.id:
            going.append(record_id)
    return going


async def _cull(
    deps: Deps, rule: RetentionRule, account_id: str, planned: Sequence[str], now: datetime
) -> CullLog | None:
    """One rule's records of one account: logged first, then culled (steps 1-4)."""
    record_ids = await _still_going(deps, rule, planned, now)
    if not record_ids:
        return None
    entries: list[CulledEntry] = []
    for record_id in record_ids:
        for entry in await deps.store.chain.of_record(record_id):
            entries.append(CulledEntry(entry.id, entry.hash, record_id))
    written = CullLog(
        id=new_id(),
        kommun=deps.kommun.id,
        rule_id=rule.id,
        decision=rule.decision,
        culled_at=now,
        account_id=account_id,
        count=len(record_ids),
        record_ids=tuple(record_ids),
        entries=tuple(entries),
    )
    try:
        await deps.uow.add(deps.store.culling.log, written)
    except AlreadyExists:
        return None  # another replica logged this very work and culls it
    return await _finish(deps, written)


async def finish_unfinished(deps: Deps) -> int:
    """Finish what a crash left: every log not yet marked finished (steps 2-4 again)."""
    unfinished = await deps.store.culling.unfinished()
    for culled in unfinished:
        log.warning("culling log %s was left unfinished; finishing it", culled.id)
        await _finish(deps, culled)
    return len(unfinished)


async def _finish(deps: Deps, culled: CullLog) -> CullLog:
    """Steps 2-4 of one log, heeding the holds as they are now (L6): a record a hold
    protects (or that became confidential, P10.3) since the log was written is spared,
    and the finished log names it, why and which holds, instead of what went."""
    spared: list[Spared] = []
    holds = await deps.store.culling.holds_in_force()
    going = []
    for record_id in culled.record_ids:
        if (kept := await _spared(deps, culled, record_id, holds)) is not None:
            spared.append(kept)
        else:
            going.append(record_id)
    if going:
        # The chain's own proof first (P10.2): no tombstone is ever without it.
        await keep_unfolded(deps, culling_fact(culled, going, deps.clock()))
    listed: dict[str, list[CulledEntry]] = {}
    for entry in culled.entries:
        listed.setdefault(entry.record_id, []).append(entry)
    for record_id in going:
        # Asked again just before it goes: a hold set a moment ago counts too (L6).
        holds = await deps.store.culling.holds_in_force()
        if (kept := await _spared(deps, culled, record_id, holds)) is not None:
            spared.append(kept)
            continue
        for entry in listed.get(record_id, ()):
            # An entry already a tombstone (a rerun), or no longer with this hash
            # (tampered, which verify then reports), is left as it is.
            await deps.store.culling.tombstone(entry.id, entry.hash, culled.id)
        await _remove_record(deps, record_id)
    for kept in spared:
        if len(kept.entries) < len(listed.get(kept.record_id, ())):
            # A crash had culled part of it before the hold: what is left stays, and
            # the record becomes the fold of that (as verify expects).
            await _remove_record(deps, kept.record_id)
    for kept in spared:
        log.warning(
            "culling log %s: record %s spared (%s %s)",
            culled.id,
            kept.record_id,
            kept.reason.value,
            ", ".join(kept.holds),
        )
    now = deps.clock()
    finishing: list[CullLog] = []

    def decide(current: CullLog) -> Decision[CullLog]:
        if current.finished_at is not None:
            return current, []  # another replica finished it
        done = finished(spare(current, spared), now)
        finishing.append(done)
        return done, [_announcement(deps, done, now)] if done.count else []

    done = await deps.uow.change(deps.store.culling.log, culled.id, decide, field="log_id")
    if finishing:
        metrics.CULLED.labels(deps.kommun.id, culled.rule_id).inc(done.count)
    return done


async def _spared(
    deps: Deps, culled: CullLog, record_id: str, holds: Sequence[Hold]
) -> Spared | None:
    """The record spared, if something keeps it now (L6, P10.3); None if it goes (or is
    gone, or nothing the log named of it is left to keep)."""
    record = await deps.store.records.get(record_id)
    if record is None or (why := why_kept(record, holds)) is None:
        return None
    named = {e.id for e in culled.entries if e.record_id == record_id}
    intact = tuple(
        e.id
        for e in await deps.store.chain.of_record(record_id)
        if e.fact is not None and e.id in named
    )
    if not intact:
        return None
    reason, by = why
    return Spared(record_id, reason, by, intact, deps.clock())


def _announcement(deps: Deps, done: CullLog, now: datetime) -> RecordCulled:
    return RecordCulled.new(
        deps.kommun.id,
        done.id,
        RecordCulledData(
            log_id=done.id,
            rule_id=done.rule_id,
            decision=done.decision,
            culled_at=done.culled_at,
            count=done.count,
            record_ids=list(done.record_ids),
        ),
        now,
    )


async def _remove_record(deps: Deps, record_id: str) -> None:
    """Step 3: the record deleted once every fact of it is a tombstone. Its pending
    events (a registration's) are sent first, so none is lost with it. A fact kept
    while it was being culled makes it the fold of what remains instead, as `verify`
    expects: the new fact is no part of this log."""
    repo = deps.store.records.repo
    for _ in range(ATTEMPTS):
        await repo.announce(record_id, deps.uow.publisher)
        found = await repo.get(record_id)
        if found is None:
            return
        entries = await deps.store.chain.of_record(record_id)
        remaining = refold(entries, deps.kommun.id)
        if remaining is None:
            if await deps.store.culling.delete_record(record_id, found.version):
                return
            continue
        try:
            await deps.uow.apply(repo, found, _becomes(remaining))
        except StaleWrite:
            continue
        return
    raise StaleWrite(record_id)


def _becomes(record: Record) -> Callable[[Record], Decision[Record]]:
    return lambda _: (record, [])


async def _cull_kommun(deps: Deps, now: datetime) -> None:
    for result in await cull(deps, now):
        log.info(
            "kommun %s: rule %s (%s) culled %d records",
            deps.kommun.id,
            result.rule_id,
            result.decision,
            result.count,
        )


async def cull_forever(deployment: Deployment[ArchiveStore]) -> None:
    interval = deployment.settings.archive_cull_interval_seconds
    await periodically(deployment, _cull_kommun, "culling the archive", interval)

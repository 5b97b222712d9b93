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
4. the log is marked finished, naming what went and what was spared and why (decided
   from what still stands after step 2), and `record.culled` leaves with it (its outbox).

The run that writes a log claims it (domain.culling.claim) for `CLAIM`. A run first
finishes every unfinished log a crash left behind once its claim has run out, and so does
the periodic verification (handlers.verify); each claims the log first by a
version-conditional write, so two never finish one log at once unless a claim runs out
mid-way. Should that happen, the finished log is mended: a tombstone of this log is never
dropped from it (L6). A dry run plans the same and changes nothing. Holds are asked per
record just before it goes, but without transactions a hold set in the very moment
between that read and the tombstone's write is not seen.
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
    KeptBecause,
    Spared,
    claim,
    claimed,
    culling_fact,
    cutoff,
    finished,
    lift,
    may_go,
    plan,
    restore,
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
    written = claim(
        CullLog(
            id=new_id(),
            kommun=deps.kommun.id,
            rule_id=rule.id,
            decision=rule.decision,
            culled_at=now,
            account_id=account_id,
            count=len(record_ids),
            record_ids=tuple(record_ids),
            entries=tuple(entries),
        ),
        new_id(),
        deps.clock(),
    )
    try:
        await deps.uow.add(deps.store.culling.log, written)
    except AlreadyExists:
        return None  # another replica logged this very work and culls it
    return await _finish(deps, written)


async def finish_unfinished(deps: Deps) -> int:
    """Finish what a crash left: every log not yet marked finished (steps 2-4 again)
    whose writer's claim has run out, claimed first (a version-conditional write), so
    that a log a live task is finishing, here or on another replica, is left to it."""
    finishing = 0
    for culled in await deps.store.culling.unfinished():
        now, me = deps.clock(), new_id()
        if claimed(culled, now):
            continue
        mine = await deps.uow.change(
            deps.store.culling.log, culled.id, _claiming(me, now), field="log_id"
        )
        if mine.finished_at is not None or mine.claimed_by != me:
            continue  # finished, or claimed by another replica, meanwhile
        log.warning("culling log %s was left unfinished; finishing it", culled.id)
        await _finish(deps, mine)
        finishing += 1
    return finishing


def _claiming(me: str, now: datetime) -> Callable[[CullLog], Decision[CullLog]]:
    return lambda current: (claim(current, me, now), [])


async def _finish(deps: Deps, culled: CullLog) -> CullLog:
    """Steps 2-4 of one log, heeding the holds as they are now (L6): a record a hold
    protects (or that became confidential, P10.3) since the log was written is spared,
    and the finished log names it, why and which holds, instead of what went.

    Holds are read once for the log and again just before each record's tombstones.
    What was spared is decided after the tombstones from what still stands: an entry
    that is a tombstone of this log is never dropped from it (its proof), and one a
    second finisher culled after this one read the chain is put back (`_reconcile`)."""
    listed: dict[str, list[CulledEntry]] = {}
    for entry in culled.entries:
        listed.setdefault(entry.record_id, []).append(entry)
    kept: dict[str, tuple[KeptBecause, tuple[str, ...]]] = {}
    holds = await deps.store.culling.holds_in_force()
    going = []
    for record_id in culled.record_ids:
        if (why := await _kept(deps, record_id, holds)) is not None:
            kept[record_id] = why
        else:
            going.append(record_id)
    if going:
        # The chain's own proof first (P10.2): no tombstone is ever without it.
        await keep_unfolded(deps, culling_fact(culled, going, deps.clock()))
    for record_id in going:
        # Asked again just before it goes: a hold set a moment ago counts too (L6).
        holds = await deps.store.culling.holds_in_force()
        if (why := await _kept(deps, record_id, holds)) is not None:
            kept[record_id] = why
            continue
        for entry in listed.get(record_id, ()):
            # An entry already a tombstone (a rerun), or no longer with this hash
            # (tampered, which verify then reports), is left as it is.
            await deps.store.culling.tombstone(entry.id, entry.hash, culled.id)
        await _remove_record(deps, record_id)
    spared = [
        s
        for record_id, why in kept.items()
        if (s := await _standing(deps, culled, record_id, listed, why)) is not None
    ]
    for s in spared:
        log.warning(
            "culling log %s: record %s spared (%s %s)",
            culled.id,
            s.record_id,
            s.reason.value,
            ", ".join(s.holds),
        )
    now = deps.clock()
    wrote: list[CullLog] = []

    def decide(current: CullLog) -> Decision[CullLog]:
        wrote.clear()  # run again after a stale write: only the write that lands counts
        if current.finished_at is not None:
            return current, []  # another replica finished it
        done = finished(spare(current, spared), now)
        wrote.append(done)
        return done, [_announcement(deps, done, done.record_ids, now)] if done.count else []

    done = await deps.uow.change(deps.store.culling.log, culled.id, decide, field="log_id")
    if wrote:
        metrics.CULLED.labels(deps.kommun.id, culled.rule_id).inc(done.count)
    return await _reconcile(deps, done)


async def _kept(
    deps: Deps, record_id: str, holds: Sequence[Hold]
) -> tuple[KeptBecause, tuple[str, ...]] | None:
    """Why the record may not go now (L6, P10.3); None if it goes (or is gone)."""
    record = await deps.store.records.get(record_id)
    return None if record is None else why_kept(record, holds)


async def _standing(
    deps: Deps,
    culled: CullLog,
    record_id: str,
    listed: dict[str, list[CulledEntry]],
    why: tuple[KeptBecause, tuple[str, ...]],
) -> Spared | None:
    """A record kept from this cull, as it stands after the tombstones: spared with the
    entries the log named that still hold their facts, or None when none does (a crash,
    or another finisher, culled them: it went). Part of it culled (a crash before the
    hold), it becomes the fold of what is left, as verify expects."""
    named = {e.id for e in listed.get(record_id, ())}
    entries = [e for e in await deps.store.chain.of_record(record_id) if e.id in named]
    intact = tuple(e.id for e in entries if e.fact is not None)
    if len(intact) < len(named):
        await _remove_record(deps, record_id)
    if not intact:
        return None
    reason, by = why
    return Spared(record_id, reason, by, intact, deps.clock())


async def _reconcile(deps: Deps, done: CullLog) -> CullLog:
    """Entries the finished log names as spared that are tombstones of it all the same
    (two finishers: one saw a hold, the other, a moment earlier, none) back among what
    went (domain.culling.restore), announced and counted once."""
    back = [
        CulledEntry(e.id, e.hash, kept.record_id)
        for kept in done.spared
        for e in await deps.store.chain.of_record(kept.record_id)
        if e.fact is None and e.culled_by == done.id and e.id in kept.entries
    ]
    if not back:
        return done
    now = deps.clock()
    went: list[str] = []

    def decide(current: CullLog) -> Decision[CullLog]:
        went.clear()
        mended = restore(current, back)
        went.extend(r for r in mended.restored if r not in current.restored)
        if not went:
            return mended, []
        return mended, [_announcement(deps, mended, went, now)]

    mended = await deps.uow.change(deps.store.culling.log, done.id, decide, field="log_id")
    if went:
        log.warning("culling log %s: records %s culled after all", done.id, ", ".join(went))
        metrics.CULLED.labels(deps.kommun.id, done.rule_id).inc(len(went))
    return mended


def _announcement(
    deps: Deps, done: CullLog, record_ids: Sequence[str], now: datetime
) -> RecordCulled:
    return RecordCulled.new(
        deps.kommun.id,
        done.id,
        RecordCulledData(
            log_id=done.id,
            rule_id=done.rule_id,
            decision=done.decision,
            culled_at=done.culled_at,
            count=len(record_ids),
            record_ids=list(record_ids),
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

"""Culling (gallring) under decided retention rules, and legal holds (P10.2, L6, L7).
Pure rules: no NATS, no MongoDB.

L6: a record goes only when a decided retention rule (the kommun's configuration, each
naming its decision) matches it and no legal hold protects it. L7: personal data is kept
no longer than the rule says. P10.3: a confidential record not yet registered never goes.
What went is written in a `CullLog` that names every chain entry of every culled record
with its hash, and the same is appended to the account's own chain as a culling fact
(`culling_fact`): the tombstones left in the chain (domain.chain) are proved by both,
and neither is ever culled. Holds are asked again just before each record goes: one set
after the log was written spares its records, and the log says which and why (`spare`).
A log is finished by the task that wrote it, or, once that task's claim has run out (a
crash), by whichever replica claims it next (`claim`).
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.archive.domain.records import Fact, FactKind, Record, RecordKind, stored_time
from shared.kommun import RetentionRule
from shared.rules import Conflict, RuleViolations, Violation, violation

# A hold's dates are the kommun's calendar days (Swedish time), as staff name them.
SWEDEN = ZoneInfo("Europe/Stockholm")

# A category of a rule that matches records no decision or rule categorised.
UNCATEGORISED = "none"


class HoldScope(StrEnum):
    ACCOUNT = "account"  # every record of one account
    CASE = "case"  # every record a moderation case decided on
    RANGE = "range"  # every record from a date range, optionally of one account


@dataclass(frozen=True)
class Hold:
    """A legal hold (L6): what it covers is never culled while it is in force. Lifting
    is a change with its own reason, never a delete: the hold's history stays."""

    id: str
    kommun: str
    scope: HoldScope
    reason: str
    set_by: str
    set_at: datetime
    account_id: str | None = None
    case_id: str | None = None
    from_date: date | None = None  # inclusive, a day in Swedish time
    to_date: date | None = None  # inclusive; none: open-ended
    lifted_at: datetime | None = None
    lifted_by: str | None = None
    lift_reason: str | None = None

    @property
    def in_force(self) -> bool:
        return self.lifted_at is None


def _l6(field: str, sv: str, en: str) -> Violation:
    return Violation(field, "L6", sv, en)


def new_hold(
    hold_id: str,
    kommun: str,
    scope: HoldScope,
    reason: str,
    set_by: str,
    set_at: datetime,
    *,
    account_id: str | None = None,
    case_id: str | None = None,
    from_date: date | None = None,
    to_date: date | None = None,
) -> Hold:
    """A hold as asked, or every reason it cannot be set (L6): each scope names exactly
    what it protects, so that no one believes a hold narrower or wider than it is."""
    account_id, case_id = (account_id or "").strip() or None, (case_id or "").strip() or None
    errors: list[Violation] = []
    if not reason.strip():
        errors.append(
            _l6("reason", "Ange varför arkivet hålls kvar.", "a hold needs a reason (L6)")
        )
    if scope is HoldScope.ACCOUNT and account_id is None:
        errors.append(
            _l6(
                "account_id",
                "Ange vilket konto som ska hållas kvar.",
                "an account hold names the account",
            )
        )
    if scope is HoldScope.CASE and case_id is None:
        errors.append(
            _l6("case_id", "Ange vilket ärende som ska hållas kvar.", "a case hold names the case")
        )
    if scope is HoldScope.RANGE:
        if from_date is None:
            errors.append(
                _l6(
                    "from",
                    "Ange från vilket datum arkivet hålls kvar.",
                    "a date-range hold names its first day",
                )
            )
        elif to_date is not None and to_date < from_date:
            errors.append(
                _l6(
                    "to",
                    "Slutdatumet ligger före startdatumet.",
                    "the last day is before the first",
                )
            )
    allowed = {
        HoldScope.ACCOUNT: {"account_id"},
        HoldScope.CASE: {"case_id"},
        HoldScope.RANGE: {"account_id", "from", "to"},
    }[scope]
    given = {"account_id": account_id, "case_id": case_id, "from": from_date, "to": to_date}
    for name, value in given.items():
        if value is not None and name not in allowed:
            errors.append(
                _l6(
                    name,
                    f"Hör inte till en spärr av typen {scope.value}.",
                    f"not part of a {scope.value} hold",
                )
            )
    if errors:
        raise RuleViolations(errors)
    return Hold(
        hold_id,
        kommun,
        scope,
        reason.strip(),
        set_by,
        set_at,
        account_id=account_id,
        case_id=case_id,
        from_date=from_date,
        to_date=to_date,
    )


def lift(hold: Hold, by: str, reason: str, at: datetime) -> Hold:
    """The hold lifted, with who and why (L6); lifted holds stay on record."""
    if not reason.strip():
        raise violation(
            "reason", "L6", "Ange varför spärren hävs.", "lifting a hold needs a reason"
        )
    if not hold.in_force:
        raise violation(
            "hold_id", "L6", "Spärren är redan hävd.", "the hold is lifted already", Conflict
        )
    return replace(hold, lifted_at=at, lifted_by=by, lift_reason=reason.strip())


def kept_since(record: Record) -> datetime | None:
    """From when the record counts: when it was written (L4), or, before its own event
    was kept, its earliest fact."""
    return record.origin_at or record.first_at


def protects(hold: Hold, record: Record) -> bool:
    """Whether the hold, if in force, covers the record (L6)."""
    if not hold.in_force:
        return False
    if hold.scope is HoldScope.ACCOUNT:
        return record.account_id == hold.account_id
    if hold.scope is HoldScope.CASE:
        return any(d.case_id == hold.case_id for d in record.decisions)
    if hold.account_id is not None and record.account_id != hold.account_id:
        return False
    at = kept_since(record)
    if at is None:
        return True  # of unknown time: the hold gets the benefit of the doubt
    day = at.astimezone(SWEDEN).date()
    after_start = hold.from_date is None or day >= hold.from_date
    before_end = hold.to_date is None or day <= hold.to_date
    return after_start and before_end


def cutoff(rule: RetentionRule, now: datetime) -> datetime:
    """Records kept since before this are old enough for the rule."""
    return now - timedelta(days=rule.after_days)


def matches(rule: RetentionRule, record: Record, now: datetime) -> bool:
    """Whether the rule allows the record to go now (P10.2, L6): every field the rule
    names holds of it, and it is older than the rule's `after_days`. An empty list in
    the rule matches any value."""
    at = kept_since(record)
    if at is None or not at < cutoff(rule, now):
        return False
    if rule.kinds and record.kind.value not in rule.kinds:
        return False
    if rule.accounts and record.account_id not in rule.accounts:
        return False
    if rule.origins and (record.origin is None or record.origin.value not in rule.origins):
        return False
    if rule.states and (record.state is None or record.state.value not in rule.states):
        return False
    return not rule.categories or (record.category or UNCATEGORISED) in rule.categories


def may_go(record: Record, holds: Iterable[Hold]) -> bool:
    """Never what a hold protects (L6), never confidential content not yet registered
    (P10.3: it must be registered first, and the diarium decides its fate)."""
    return why_kept(record, holds) is None


class KeptBecause(StrEnum):
    HOLD = "hold"  # a legal hold in force protects it (L6)
    AWAITS_REGISTRATION = "awaits_registration"  # confidential, not yet registered (P10.3)


def why_kept(record: Record, holds: Iterable[Hold]) -> tuple[KeptBecause, tuple[str, ...]] | None:
    """Why the record may not go now, with the ids of the holds that protect it; None
    when nothing keeps it (L6, P10.3)."""
    if record.awaits_registration:
        return KeptBecause.AWAITS_REGISTRATION, ()
    protecting = tuple(h.id for h in holds if protects(h, record))
    return (KeptBecause.HOLD, protecting) if protecting else None


def rule_for(rules: Sequence[RetentionRule], record: Record, now: datetime) -> RetentionRule | None:
    """The first rule, in the configuration's order, that lets the record go."""
    return next((r for r in rules if matches(r, record, now)), None)


@dataclass(frozen=True)
class Going:
    """What one rule lets go in one run: records by id, in id order."""

    rule: RetentionRule
    records: tuple[Record, ...]


def plan(
    rules: Sequence[RetentionRule], records: Iterable[Record], holds: Sequence[Hold], now: datetime
) -> list[Going]:
    """Per rule in configuration order, the records that go now: each under the first
    rule that matches it, none on hold, none awaiting registration."""
    by_rule: dict[str, dict[str, Record]] = {r.id: {} for r in rules}
    for record in records:
        rule = rule_for(rules, record, now)
        if rule is not None and may_go(record, holds):
            by_rule[rule.id][record.id] = record
    return [
        Going(rule, tuple(by_rule[rule.id][i] for i in sorted(by_rule[rule.id])))
        for rule in rules
        if by_rule[rule.id]
    ]


# The log


@dataclass(frozen=True)
class CulledEntry:
    """One chain entry whose fact went, with the hash its tombstone keeps."""

    id: str
    hash: str
    record_id: str


@dataclass(frozen=True)
class Spared:
    """A record the log named that did not go after all (L6): a hold set, or it became
    confidential, between writing the log and finishing it. `entries` are its chain
    entries the log named and left as they were."""

    record_id: str
    reason: KeptBecause
    holds: tuple[str, ...]  # the holds in force that protect it
    entries: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class CullLog:
    """What one rule culled of one account in one run, and why (P10.2, L6): the rule,
    the decision it rests on, when, how many, which records and every chain entry of
    them with its hash. Kept for ever: it is what proves the chain's tombstones.

    Written before anything goes; `finished_at` is set when the records are gone, so a
    run after a crash finishes what an unfinished log lists. A record spared when the
    log is finished leaves `record_ids`, `count` and `entries` for `spared`, so that the
    finished log names exactly what went; one spared by one finisher but culled by
    another (`restore`) is named again among what went, and under `restored`.

    `claimed_by`/`claimed_until`: the task finishing it, and until when no other may
    start to (`claim`); written with the log by the run that writes it."""

    id: str
    kommun: str
    rule_id: str
    decision: str
    culled_at: datetime
    account_id: str
    count: int
    record_ids: tuple[str, ...]
    entries: tuple[CulledEntry, ...]
    finished_at: datetime | None = None
    spared: tuple[Spared, ...] = ()
    restored: tuple[str, ...] = ()  # record ids spared once, then culled after all
    claimed_by: str | None = None
    claimed_until: datetime | None = None

    @property
    def hashes(self) -> dict[str, str]:
        return {e.id: e.hash for e in self.entries}

    @property
    def fingerprint(self) -> str:
        """The same for the same work: two replicas planning one cull write one log (a
        unique key in the store). Entry ids are never reused, so a record kept again
        after it went is new work. A log that spared anything no longer holds the work
        it planned: its fingerprint becomes its own (its id added), so that a spared
        record can be planned, and culled, again once nothing keeps it (L6, L7)."""
        planned = [e.id for e in self.entries] + [e for s in self.spared for e in s.entries]
        listed = "\n".join(sorted(planned))
        digest = hashlib.sha256(f"{self.rule_id}\n{listed}".encode()).hexdigest()
        return f"{digest}:{self.id}" if self.spared or self.restored else digest


def finished(log: CullLog, at: datetime) -> CullLog:
    return log if log.finished_at is not None else replace(log, finished_at=at)


# How long the task that claimed a log has to finish it before another may (a crash).
CLAIM = timedelta(minutes=10)


def claimed(log: CullLog, now: datetime) -> bool:
    """Whether a live task is finishing the log: its claim has not run out."""
    return log.claimed_until is not None and log.claimed_until > now


def claim(log: CullLog, by: str, now: datetime) -> CullLog:
    """The log claimed by `by` until `now + CLAIM`, unless it is finished or another
    task's claim is still live (then unchanged): one finisher at a time."""
    if log.finished_at is not None or (claimed(log, now) and log.claimed_by != by):
        return log
    return replace(log, claimed_by=by, claimed_until=now + CLAIM)


def spare(log: CullLog, spared: Iterable[Spared]) -> CullLog:
    """The log with these records spared (L6): out of what it says went, into `spared`.
    `entries` of each must be the entries of it that still hold their facts: an entry
    that is a tombstone of this log stays listed, the proof of its tombstone. The
    fingerprint becomes the log's own (`CullLog.fingerprint`)."""
    already = {s.record_id for s in log.spared}
    new = [s for s in spared if s.record_id not in already and s.record_id in log.record_ids]
    if not new:
        return log
    gone = {s.record_id for s in new}
    left = {e for s in new for e in s.entries}
    record_ids = tuple(r for r in log.record_ids if r not in gone)
    return replace(
        log,
        record_ids=record_ids,
        count=len(record_ids),
        entries=tuple(e for e in log.entries if e.id not in left),
        spared=(*log.spared, *new),
    )


def restore(log: CullLog, tombstones: Iterable[CulledEntry]) -> CullLog:
    """The log with these entries, named as spared but found tombstones of this log
    (a second finisher, which saw no hold, culled them meanwhile), back among what
    went: a tombstone no log lists would break the chain for ever (L6). A record none
    of whose spared entries is left is no longer spared: it went, and `restored` says so."""
    named = {e for s in log.spared for e in s.entries}
    back = {e.id: e for e in tombstones if e.id in named}
    if not back:
        return log
    spared: list[Spared] = []
    went: list[str] = []
    for kept in log.spared:
        left = tuple(e for e in kept.entries if e not in back)
        if left:
            spared.append(kept if left == kept.entries else replace(kept, entries=left))
        else:
            went.append(kept.record_id)
    record_ids = tuple(sorted({*log.record_ids, *went}))
    return replace(
        log,
        record_ids=record_ids,
        count=len(record_ids),
        entries=tuple(sorted((*log.entries, *back.values()), key=lambda e: e.id)),
        spared=tuple(spared),
        restored=(*log.restored, *went),
    )


CULLING_FACT = "archive.culled"


def culling_record_id(log_id: str) -> str:
    """The record id a culling fact's entry names: no record ever has it."""
    return f"culling-{log_id}"


def culling_fact(log: CullLog, record_ids: Iterable[str], at: datetime) -> Fact:
    """What the log culls of these records, as a fact for the account's chain (P10.2,
    L6): the chain then proves every tombstone on its own, so a culling log forged
    beside the chain proves nothing. Kept once per log and set of records (its event id):
    a run after a crash that spares more keeps a second, narrower one."""
    going = sorted(set(record_ids))
    entries = [e for e in log.entries if e.record_id in going]
    digest = hashlib.sha256("\n".join(going).encode()).hexdigest()[:16]
    return Fact(
        event_id=f"culled-{log.id}-{digest}",
        event_type=CULLING_FACT,
        kind=FactKind.CULLED,
        record_id=culling_record_id(log.id),
        record_kind=RecordKind.ACCOUNT,  # of the account's chain, never a record's
        account_id=log.account_id,
        at=at,
        data={
            "log_id": log.id,
            "rule_id": log.rule_id,
            "decision": log.decision,
            # Text, not a datetime: a fact's data hashes the same after the store reads it.
            "culled_at": stored_time(log.culled_at).isoformat(timespec="milliseconds"),
            "record_ids": going,
            "entries": [{"id": e.id, "hash": e.hash, "record_id": e.record_id} for e in entries],
        },
    )

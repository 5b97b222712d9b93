"""Registration in the diarium (P10.3, L5): confidential records registered at once.

Registering is two writes, each safe to repeat: the diary entry (which takes the number
and carries `record.registered` in its outbox), then the `registered` fact kept in the
account's chain and folded into the record, so the record names its number. A crash
between the two is mended by the next call, from an event or the periodic sweep: the
entry is found by the record's id and the fact (keyed by the record's id) is kept.
"""

import logging
from datetime import datetime

from services.archive import metrics
from services.archive.domain.diarium import DiaryEntry, new_entry, should_register, year_of
from services.archive.domain.records import Fact, FactKind, Record, stored_time
from services.archive.handlers.records import keep
from services.archive.store import ArchiveStore
from shared.events import (
    CommentConfidential,
    ModerationDecided,
    RecordRegistered,
    RecordRegisteredData,
)
from shared.rules import Conflict, violation
from shared.service import Dependencies, Deployment, periodically
from shared.unit_of_work import AlreadyExists

Deps = Dependencies[ArchiveStore]

log = logging.getLogger("kanalvakt.archive.diarium")

# Replicas racing for the year's next number: each loss means another took one, so
# more losses in a row than this is not contention but a fault.
NUMBER_ATTEMPTS = 200
# The metric's reason for a registration the registrar asked for (its own words are
# the entry's reason: labels stay bounded).
BY_HAND = "registrar"


async def register(deps: Deps, record: Record, reason: str, *, by_hand: bool = False) -> Record:
    """Register the record if it awaits registration (or, `by_hand`, if the registrar
    asks and it is not of obviously minor importance, P10.7); the record as it is then."""
    if not should_register(record, by_hand=by_hand):
        return record
    entry, new = await _entry(deps, record, reason)
    registered, _ = await keep(deps, registered_fact(record, entry))
    if new:
        label = BY_HAND if by_hand else reason
        metrics.REGISTRATIONS.labels(deps.kommun.id, label).inc()
    return registered


async def register_by_hand(deps: Deps, record: Record, reason: str) -> DiaryEntry:
    """P10.3: the registrar registers a record (registration is the main rule); refused
    for one registered already (its number said) or of obviously minor importance (P10.7)."""
    if record.registration is not None:
        number = record.registration.diary_number
        raise violation(
            "record_id",
            "P10.3",
            f"Posten är redan registrerad som {number}.",
            f"the record is registered already, as {number}",
            Conflict,
        )
    if not should_register(record, by_hand=True):
        raise violation(
            "record_id",
            "P10.7",
            "Posten är av uppenbart ringa betydelse och registreras inte.",
            "the record is of obviously minor importance and is not registered",
        )
    await register(deps, record, reason, by_hand=True)
    entry = await deps.store.diarium.of_record(record.id)
    if entry is None:  # registered just now, or by a concurrent call: never
        raise RuntimeError(f"diary: record {record.id} registered without an entry")
    return entry


async def _entry(deps: Deps, record: Record, reason: str) -> tuple[DiaryEntry, bool]:
    """The record's diary entry: the one it has, or a new one under the year's next
    number; and whether it is new."""
    diary = deps.store.diarium
    registered_at = stored_time(deps.clock())
    for _ in range(NUMBER_ATTEMPTS):
        if (found := await diary.of_record(record.id)) is not None:
            return found, False  # registered before (a crash, a redelivery, a race)
        seq = await diary.highest_seq(year_of(registered_at)) + 1
        entry = new_entry(record, deps.kommun.archive.diarium, seq, registered_at, reason)
        try:
            await deps.uow.add(diary.repo, entry, [_announced(deps, entry)])
        except AlreadyExists:
            continue  # another replica took this number, or registered this very record
        return entry, True
    raise RuntimeError(f"diary: could not number record {record.id}")


def _announced(deps: Deps, entry: DiaryEntry) -> RecordRegistered:
    data = RecordRegisteredData(
        record_id=entry.record_id,
        account_id=entry.account_id,
        kind=entry.kind.value,
        origin=entry.origin.value if entry.origin else None,
        diary_number=entry.number,
        registered_at=entry.registered_at,
        sender=entry.sender,
        summary=entry.summary,
        confidential=entry.confidential,
        reason=entry.reason,
    )
    return RecordRegistered.new(deps.kommun.id, entry.record_id, data, entry.registered_at)


def registered_fact(record: Record, entry: DiaryEntry) -> Fact:
    """The registration as a fact of the record, once per record (its event id)."""
    return Fact(
        event_id=f"registered-{record.id}",
        event_type=RecordRegistered.nats_subject,
        kind=FactKind.REGISTERED,
        record_id=record.id,
        record_kind=record.kind,
        account_id=record.account_id,
        at=entry.registered_at,
        data={"diary_number": entry.number, "reason": entry.reason},
    )


async def register_waiting(deps: Deps, now: datetime) -> None:
    """P10.3: registers every record still waiting (a failure earlier), then sets the
    gauge of those that still wait (must stay 0)."""
    while waiting := await deps.store.records.awaiting_registration():
        log.warning(
            "kommun %s: %d confidential records were not registered at once; registering",
            deps.kommun.id,
            len(waiting),
        )
        done = [await register(deps, record, cause(record)) for record in waiting]
        if any(r.awaits_registration for r in done):
            break  # cannot register some: counted below, not tried forever in one run
    left = len(await deps.store.records.awaiting_registration())
    metrics.AWAITING_REGISTRATION.labels(deps.kommun.id).set(left)


def cause(record: Record) -> str:
    """What made a waiting record confidential, as the event that did would say."""
    if record.confidential_kinds or record.hidden_at_once:
        return CommentConfidential.nats_subject
    return ModerationDecided.nats_subject


async def register_waiting_forever(deployment: Deployment[ArchiveStore]) -> None:
    """Periodically registers what still waits (a failure earlier), and sets the gauge."""
    interval = deployment.settings.archive_sweep_interval_seconds
    await periodically(deployment, register_waiting, "registering in the diarium", interval)

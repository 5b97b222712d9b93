"""Absences and substitutes, and when an account is left unattended (P3.3, P5.1, P5.6).

An absence is a person's, from one time to another, with an optional substitute. It
*starts* and *ends* at its times, not when it is typed in: `admin.absent` and
`admin.returned` follow those moments. An account is unattended while every one of its
administrators is away and none of them has a substitute who is present.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from shared.events import (
    AdminAbsent,
    AdminAbsentData,
    AdminReturned,
    EscalationTarget,
    Event,
    PersonRef,
)
from shared.ids import new_id
from shared.kommun import KommunConfig
from shared.principal import Principal
from shared.rules import RuleViolations, Violation
from shared.unit_of_work import Decision


class AbsenceState(StrEnum):
    SCHEDULED = "scheduled"
    STARTED = "started"
    ENDED = "ended"


@dataclass(frozen=True)
class Absence:
    id: str
    kommun: str
    person: PersonRef
    starts_at: datetime
    ends_at: datetime
    substitute: PersonRef | None
    registered_by: str
    state: AbsenceState = AbsenceState.SCHEDULED

    @property
    def person_key(self) -> str:
        return str(self.person.email).casefold()

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


def register(
    kommun: str,
    person: PersonRef,
    starts_at: datetime,
    ends_at: datetime,
    substitute: PersonRef | None,
    by: Principal,
    now: datetime,
) -> Absence:
    problems = []
    if ends_at <= starts_at:
        problems.append(
            Violation(
                "ends_at",
                "P5.1",
                "Frånvaron måste sluta efter att den börjar.",
                "the absence must end after it starts",
            )
        )
    if ends_at <= now:
        problems.append(
            Violation(
                "ends_at",
                "P5.1",
                "Frånvaron har redan tagit slut.",
                "the absence has already ended",
            )
        )
    if substitute and str(substitute.email).casefold() == str(person.email).casefold():
        problems.append(
            Violation(
                "substitute",
                "P5.1",
                "Ersättaren måste vara en annan person.",
                "the substitute must be someone else",
            )
        )
    if problems:
        raise RuleViolations(problems)
    return Absence(new_id(), kommun, person, starts_at, ends_at, substitute, by.subject)


def _data(absence: Absence, account_ids: list[str]) -> AdminAbsentData:
    return AdminAbsentData(
        absence_id=absence.id,
        administrator=absence.person,
        account_ids=account_ids,
        starts_at=absence.starts_at,
        ends_at=absence.ends_at,
        substitute=absence.substitute,
    )


def advance(absence: Absence, now: datetime, account_ids: list[str]) -> Decision[Absence]:
    """The absence's state at `now`, with the events of every moment passed since."""
    events: list[Event] = []
    if absence.state is AbsenceState.SCHEDULED and absence.starts_at <= now:
        absence = replace(absence, state=AbsenceState.STARTED)
        events.append(
            AdminAbsent.new(
                absence.kommun,
                subject=absence.id,
                time=absence.starts_at,
                data=_data(absence, account_ids),
            )
        )
    if absence.state is AbsenceState.STARTED and absence.ends_at <= now:
        absence = replace(absence, state=AbsenceState.ENDED)
        events.append(
            AdminReturned.new(
                absence.kommun,
                subject=absence.id,
                time=absence.ends_at,
                data=_data(absence, account_ids),
            )
        )
    return absence, events


@dataclass(frozen=True)
class Attendance:
    unattended: bool
    absent: list[PersonRef]


def attendance(administrators: list[str], absences: list[Absence], at: datetime) -> Attendance:
    """P3.3, P5.1: is anyone there for the account at `at`?"""
    away = {a.person_key for a in absences if a.covers(at)}
    absent: list[PersonRef] = []
    for admin in administrators:
        covering = [a for a in absences if a.person_key == admin and a.covers(at)]
        if not covering:
            return Attendance(False, [])
        substitutes = [a.substitute for a in covering if a.substitute is not None]
        if any(str(s.email).casefold() not in away for s in substitutes):
            return Attendance(False, [])
        absent.append(covering[0].person)
    return Attendance(True, absent)


def escalation(department: str, unit: str, kommun: KommunConfig) -> list[EscalationTarget]:
    """P5.6: if the substitute arrangement fails, the enhetschef, then the förvaltningschef."""
    targets = []
    dept = kommun.organisation.get(department)
    if dept and (unit_cfg := dept.units.get(unit)):
        targets.append(("enhetschef", unit_cfg.head.name, unit_cfg.head.email))
    if dept:
        targets.append(("förvaltningschef", dept.head.name, dept.head.email))
    if not targets:  # an organisation not configured: the informationsansvarig must know
        contact = kommun.contact("informationsansvarig")
        targets.append(("informationsansvarig", contact.name, contact.email))
    return [
        EscalationTarget(level=i, role=role, person=PersonRef(name=name, email=email))
        for i, (role, name, email) in enumerate(targets, start=1)
    ]

"""Notify's own read model of accounts, their administrators and their absences, built
from registry events (it never reads the registry's database), with the kommun's role
directory (contacts, organisation) from configuration.

Each registry event is applied by a pure function. The consumers of different event
types run side by side, so an account's events may arrive in any order: an absence
may come before its account.created (the account is then kept as a stub with no name,
`known` False, until it does), and an older account event does not overwrite a newer
one. Each part of the account keeps the time of the event that set it: only
account.created, .activated and .updated carry the administrators, so an
account.approved or .closed seen first must not make a late account.created's
administrators look old (`details_as_of`, `administrators_as_of`).
"""

from dataclasses import dataclass, replace
from datetime import datetime

from services.notify.domain.notifications import Person
from shared.events import AccountDeadlines, AccountRef, AdminAbsentData, PersonRef
from shared.kommun import Person as Head


@dataclass(frozen=True)
class Absence:
    id: str  # admin.absent's absence_id
    person: Person
    substitute: Person | None
    starts_at: datetime
    ends_at: datetime

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True)
class Account:
    id: str  # the account_id
    kommun: str
    name: str
    platform: str
    department: str
    unit: str
    administrators: tuple[Person, ...] = ()
    absences: tuple[Absence, ...] = ()
    closed: bool = False
    # The time of the newest account event that set name, platform, department and unit,
    # and of the newest that carried the administrators: an older one arriving late (its
    # consumer was slower) does not undo either, and each is judged by its own time.
    details_as_of: datetime | None = None
    administrators_as_of: datetime | None = None
    # The newest account.attended (P3.3): an account.unattended older than it is over.
    attended_at: datetime | None = None
    # Routing waited in vain for this account's events (never seen, e.g. created before
    # the stream's retention): later events about it go to the fallback at once.
    missing_since: datetime | None = None

    @property
    def known(self) -> bool:
        """An account event has been seen, not only an absence (its name is known)."""
        return bool(self.name)

    @property
    def administrators_known(self) -> bool:
        """An event carrying the plan's administrators has been seen (B1 item 5)."""
        return self.administrators_as_of is not None


def person(ref: PersonRef | Head, why: str = "") -> Person:
    """Someone an event or the organisation names, as notify tells them."""
    return Person(name=ref.name, email=str(ref.email), why=why)


def stub(account_id: str, kommun: str) -> Account:
    """An account notify has heard of only through an absence so far."""
    return Account(id=account_id, kommun=kommun, name="", platform="", department="", unit="")


def account_of(data: AccountRef, kommun: str, at: datetime) -> Account:
    """The account as an account event describes it."""
    return apply_account(stub(data.account_id, kommun), data, at)


def apply_account(account: Account, data: AccountRef, at: datetime) -> Account:
    """account.created / approved / activated / updated / closed: name, platform,
    department and unit; the administrators when the event carries the plan's (B1 item 5).
    Each part changes only for an event at least as new as the one that set it, so an
    account.created arriving after its account.approved still gives the administrators."""
    if account.details_as_of is None or at >= account.details_as_of:
        account = replace(
            account,
            name=data.name,
            platform=data.platform,
            department=data.department,
            unit=data.unit,
            details_as_of=at,
        )
    if isinstance(data, AccountDeadlines) and (
        account.administrators_as_of is None or at >= account.administrators_as_of
    ):
        account = replace(
            account,
            administrators=tuple(person(a) for a in data.administrators),
            administrators_as_of=at,
        )
    return account


def close(account: Account) -> Account:
    """account.closed (P5.5): kept, so late events about it still find their people."""
    return replace(account, closed=True)


def attended(account: Account, at: datetime) -> Account:
    """account.attended (P3.3): someone is there again since `at`."""
    if account.attended_at is not None and at <= account.attended_at:
        return account
    return replace(account, attended_at=at)


def missing(account: Account, now: datetime) -> Account:
    """Routing waited for this account's events in vain: remember it, so the next event
    about it is routed at once rather than waiting too."""
    if account.missing_since is not None:
        return account
    return replace(account, missing_since=now)


def away(account: Account, data: AdminAbsentData) -> Account:
    """admin.absent: the administrator is away, with or without a substitute (P5.1)."""
    absence = Absence(
        id=data.absence_id,
        person=person(data.administrator),
        substitute=person(data.substitute) if data.substitute else None,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
    )
    kept = tuple(a for a in account.absences if a.id != absence.id)
    return replace(account, absences=(*kept, absence))


def back(account: Account, data: AdminAbsentData) -> Account:
    """admin.returned: the absence is over."""
    return replace(account, absences=tuple(a for a in account.absences if a.id != data.absence_id))


def _key(email: str) -> str:
    return email.casefold()


def on_duty(account: Account, now: datetime) -> tuple[Person, ...]:
    """P5.1: who handles the account's comments now: its administrators who are present,
    and for one who is away, their substitute if they have one. An absence counts only
    within its times, so one whose admin.returned came first (the two consumers race)
    is over all the same."""
    people: list[Person] = []
    for admin in account.administrators:
        absence = next(
            (
                a
                for a in account.absences
                if _key(a.person.email) == _key(admin.email) and a.covers(now)
            ),
            None,
        )
        if absence is None:
            people.append(admin)
        elif absence.substitute is not None:
            people.append(absence.substitute)
    return unique(people)


def unique(people: list[Person]) -> tuple[Person, ...]:
    """Each e-mail address once, the first naming kept (one person named twice is told
    once)."""
    seen: set[str] = set()
    kept: list[Person] = []
    for p in people:
        if _key(p.email) not in seen:
            seen.add(_key(p.email))
            kept.append(p)
    return tuple(kept)

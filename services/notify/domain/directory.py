"""Notify's own read model of accounts, their administrators and their absences, built
from registry events (it never reads the registry's database), with the kommun's role
directory (contacts, organisation) from configuration.

Contract (issue 11). The helper building routing fills in the functions.
"""

from dataclasses import dataclass
from datetime import datetime

from services.notify.domain.notifications import Person


@dataclass(frozen=True)
class Absence:
    id: str  # admin.absent's absence_id
    person: Person
    substitute: Person | None
    starts_at: datetime
    ends_at: datetime


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

"""The registry's own database: accounts and absences, each with its pending events.

Both are versioned repositories (shared.unit_of_work): a write names the version it read,
so two requests, or two replicas of the scheduler, never both apply a change. A store is
one kommun's: every query is narrowed to it (shared.store), and every index leads with
the kommun. The same queries exist in memory (`InMemoryRegistryStore`) for unit tests of
the use cases.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase

from services.registry.domain.absence import Absence, AbsenceState
from services.registry.domain.account import Account, State
from services.registry.domain.naming import normalise_handle
from shared.outbox import Outbox
from shared.store import Document, MongoRepository
from shared.unit_of_work import InMemoryRepository, Mapper, Repository, Versioned

# The most a page of the register holds; a request for more gets this many and a cursor.
PAGE_LIMIT = 500


def _account_query_fields(account: Account) -> dict[str, Any]:
    """Fields the queries and the unique name index use, derived from the plan."""
    plan = account.plan
    return {
        "platform": plan.platform,
        "department": plan.department,
        "name_key": normalise_handle(plan.handle),
        "admin_keys": account.active_administrators,
    }


def _absence_query_fields(absence: Absence) -> dict[str, Any]:
    return {"person_key": absence.person_key}


ACCOUNTS = Mapper(Account, _account_query_fields)
ABSENCES = Mapper(Absence, _absence_query_fields)


class RegistryStore(Protocol):
    accounts: Repository[Account]
    absences: Repository[Absence]

    async def find(
        self,
        department: str | None = None,
        platform: str | None = None,
        states: Sequence[State] = (),
        after: str | None = None,
        limit: int = PAGE_LIMIT,
    ) -> list[Account]:
        """Accounts by id order, those after the cursor `after` (an account id)."""
        ...

    async def all_versioned(self) -> list[Versioned[Account]]: ...

    async def administered_by(self, person_key: str) -> list[str]: ...

    async def absences_due(self, now: datetime) -> list[Versioned[Absence]]:
        """Absences with a start or an end at or before `now` not yet acted on."""
        ...

    async def current_absences(self, now: datetime) -> list[Absence]:
        """Every absence not yet over: substitutes' own absences count too (P5.1)."""
        ...


class MongoRegistryStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.accounts = MongoRepository(db["accounts"], ACCOUNTS, kommun, request_keys=True)
        self.absences = MongoRepository(db["absences"], ABSENCES, kommun, request_keys=True)

    async def create_indexes(self) -> None:
        accounts, absences = self.accounts.collection, self.absences.collection
        await self.accounts.create_indexes()
        await self.absences.create_indexes()
        # A name is unique in its kommun's register (P10.1): another kommun's register is
        # not this one's to reveal.
        await accounts.create_index([("kommun", 1), ("platform", 1), ("name_key", 1)], unique=True)
        await accounts.create_index([("kommun", 1), ("department", 1), ("state", 1)])
        await accounts.create_index([("kommun", 1), ("admin_keys", 1)])
        await absences.create_index([("kommun", 1), ("person_key", 1), ("ends_at", 1)])
        await absences.create_index([("kommun", 1), ("state", 1), ("starts_at", 1)])
        await absences.create_index([("kommun", 1), ("ends_at", 1)])

    def outboxes(self) -> Sequence[Outbox]:
        return [self.accounts.outbox, self.absences.outbox]

    async def find(
        self,
        department: str | None = None,
        platform: str | None = None,
        states: Sequence[State] = (),
        after: str | None = None,
        limit: int = PAGE_LIMIT,
    ) -> list[Account]:
        query: dict[str, Any] = {}
        if department:
            query["department"] = department
        if platform:
            query["platform"] = platform
        if states:
            query["state"] = {"$in": [s.value for s in states]}
        if after:
            query["_id"] = {"$gt": after}
        return [v.item for v in await self.accounts.find(query, "_id", limit)]

    async def all_versioned(self) -> list[Versioned[Account]]:
        return await self.accounts.find({})

    async def administered_by(self, person_key: str) -> list[str]:
        # $in, not equality: with admin_keys indexed, nx-27017 answers element equality
        # with nothing (README, "Store"); the two mean the same to MongoDB.
        return await self.accounts.find_ids({"admin_keys": {"$in": [person_key]}})

    async def absences_due(self, now: datetime) -> list[Versioned[Absence]]:
        return await self.absences.find(
            {
                "$or": [
                    {"state": AbsenceState.SCHEDULED.value, "starts_at": {"$lte": now}},
                    {"state": AbsenceState.STARTED.value, "ends_at": {"$lte": now}},
                ]
            }
        )

    async def current_absences(self, now: datetime) -> list[Absence]:
        return [v.item for v in await self.absences.find({"ends_at": {"$gt": now}})]


class InMemoryRegistryStore:
    """The same store in memory, for unit tests of the use cases (no NATS, no MongoDB)."""

    def __init__(self, kommun: str) -> None:
        self.accounts = InMemoryRepository(
            ACCOUNTS, kommun, unique=lambda a: (a.plan.platform, normalise_handle(a.plan.handle))
        )
        self.absences = InMemoryRepository(ABSENCES, kommun)

    async def find(
        self,
        department: str | None = None,
        platform: str | None = None,
        states: Sequence[State] = (),
        after: str | None = None,
        limit: int = PAGE_LIMIT,
    ) -> list[Account]:
        found = sorted(
            (
                a
                for a in self.accounts.items()
                if (not department or a.plan.department == department)
                and (not platform or a.plan.platform == platform)
                and (not states or a.state in states)
                and (not after or a.id > after)
            ),
            key=lambda a: a.id,
        )
        return found[:limit] if limit else found

    async def all_versioned(self) -> list[Versioned[Account]]:
        return [v for a in self.accounts.items() if (v := await self.accounts.get(a.id))]

    async def administered_by(self, person_key: str) -> list[str]:
        return [a.id for a in self.accounts.items() if person_key in a.active_administrators]

    async def absences_due(self, now: datetime) -> list[Versioned[Absence]]:
        due = [
            a
            for a in self.absences.items()
            if (a.state is AbsenceState.SCHEDULED and a.starts_at <= now)
            or (a.state is AbsenceState.STARTED and a.ends_at <= now)
        ]
        return [v for a in due if (v := await self.absences.get(a.id))]

    async def current_absences(self, now: datetime) -> list[Absence]:
        return [a for a in self.absences.items() if a.ends_at > now]

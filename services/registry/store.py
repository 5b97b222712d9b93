"""The registry's own database: accounts and absences, each with its pending events.

Both are written with optimistic concurrency (shared.outbox): a write names the version
it read, so two requests, or two replicas of the scheduler, never both apply a change.
"""

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.registry.domain.absence import Absence, AbsenceState
from services.registry.domain.account import (
    Account,
    Change,
    CredentialsDeposit,
    ProfileConfirmation,
    Signature,
    SignRole,
    State,
)
from services.registry.domain.naming import normalise_handle
from services.registry.domain.plan import ActivityPlan
from shared.events import Event, PersonRef
from shared.outbox import Outbox, insert_with_events, replace_with_events
from shared.store import Document


class AccountNameTaken(Exception):
    pass


Versioned = tuple[Account, int]


def _account_fields(account: Account) -> dict[str, Any]:
    plan = account.plan
    return {
        "state": account.state.value,
        "plan": plan.model_dump(mode="json"),
        "created_by": account.created_by,
        "created_at": account.created_at,
        "signatures": [asdict(s) | {"role": s.role.value} for s in account.signatures],
        "approved_at": account.approved_at,
        "credentials": asdict(account.credentials) if account.credentials else None,
        "profile": asdict(account.profile) if account.profile else None,
        "departed": sorted(account.departed),
        "history": [asdict(c) for c in account.history],
        "unattended_since": account.unattended_since,
        "findings": list(account.findings),
        # Query fields, derived from the plan: kept in step by every write.
        "platform": plan.platform,
        "department": plan.department,
        "name_key": normalise_handle(plan.handle),
        "admin_keys": account.active_administrators,
    }


def _account(doc: dict[str, Any]) -> Versioned:
    credentials, profile = doc.get("credentials"), doc.get("profile")
    account = Account(
        id=doc["_id"],
        plan=ActivityPlan.model_validate(doc["plan"]),
        state=State(doc["state"]),
        created_by=doc["created_by"],
        created_at=doc["created_at"],
        signatures=tuple(
            Signature(SignRole(s["role"]), s["subject"], s["name"], s["signed_at"])
            for s in doc.get("signatures") or []
        ),
        approved_at=doc.get("approved_at"),
        credentials=CredentialsDeposit(**credentials) if credentials else None,
        profile=ProfileConfirmation(**profile) if profile else None,
        departed=frozenset(doc.get("departed") or []),
        history=tuple(Change(**c) for c in doc.get("history") or []),
        unattended_since=doc.get("unattended_since"),
        findings=tuple(doc.get("findings") or []),
    )
    return account, int(doc["version"])


def _absence_fields(absence: Absence) -> dict[str, Any]:
    return {
        "person": absence.person.model_dump(mode="json"),
        "person_key": absence.person_key,
        "starts_at": absence.starts_at,
        "ends_at": absence.ends_at,
        "substitute": absence.substitute.model_dump(mode="json") if absence.substitute else None,
        "registered_by": absence.registered_by,
        "state": absence.state.value,
    }


def _absence(doc: dict[str, Any]) -> tuple[Absence, int]:
    substitute = doc.get("substitute")
    absence = Absence(
        id=doc["_id"],
        person=PersonRef.model_validate(doc["person"]),
        starts_at=doc["starts_at"],
        ends_at=doc["ends_at"],
        substitute=PersonRef.model_validate(substitute) if substitute else None,
        registered_by=doc["registered_by"],
        state=AbsenceState(doc["state"]),
    )
    return absence, int(doc["version"])


class RegistryStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._accounts = db["accounts"]
        self._absences = db["absences"]
        self.accounts_outbox = Outbox(self._accounts)
        self.absences_outbox = Outbox(self._absences)

    async def create_indexes(self) -> None:
        await self._accounts.create_index(
            [("platform", ASCENDING), ("name_key", ASCENDING)], unique=True
        )
        await self._accounts.create_index([("department", ASCENDING), ("state", ASCENDING)])
        await self._accounts.create_index([("admin_keys", ASCENDING)])
        await self._absences.create_index([("person_key", ASCENDING), ("ends_at", ASCENDING)])
        await self._absences.create_index([("state", ASCENDING), ("starts_at", ASCENDING)])

    def outboxes(self) -> Sequence[Outbox]:
        return [self.accounts_outbox, self.absences_outbox]

    # Accounts

    async def add(self, account: Account, events: Sequence[Event]) -> None:
        try:
            await insert_with_events(
                self._accounts, {"_id": account.id} | _account_fields(account), events
            )
        except DuplicateKeyError:
            raise AccountNameTaken(account.plan.platform, account.plan.handle) from None

    async def save(self, account: Account, version: int, events: Sequence[Event]) -> int:
        """Raises StaleWrite if the account changed since `version` was read."""
        try:
            return await replace_with_events(
                self._accounts, account.id, version, _account_fields(account), events
            )
        except DuplicateKeyError:
            raise AccountNameTaken(account.plan.platform, account.plan.handle) from None

    async def get(self, account_id: str) -> Versioned | None:
        doc = await self._accounts.find_one({"_id": account_id})
        return _account(doc) if doc else None

    async def find(
        self,
        department: str | None = None,
        platform: str | None = None,
        states: Sequence[State] = (),
        limit: int = 5000,
    ) -> list[Account]:
        query: dict[str, Any] = {}
        if department:
            query["department"] = department
        if platform:
            query["platform"] = platform
        if states:
            query["state"] = {"$in": [s.value for s in states]}
        cursor = self._accounts.find(query).sort("_id", ASCENDING).limit(limit)
        return [_account(doc)[0] async for doc in cursor]

    async def all_versioned(self) -> list[Versioned]:
        return [_account(doc) async for doc in self._accounts.find({})]

    async def administered_by(self, person_key: str) -> list[str]:
        # $in, not equality: with admin_keys indexed, nx-27017 answers element equality
        # with nothing (README, "Store"); the two mean the same to MongoDB.
        cursor = self._accounts.find({"admin_keys": {"$in": [person_key]}}, {"_id": 1})
        return [doc["_id"] async for doc in cursor]

    # Absences

    async def add_absence(self, absence: Absence) -> None:
        await insert_with_events(self._absences, {"_id": absence.id} | _absence_fields(absence), [])

    async def save_absence(self, absence: Absence, version: int, events: Sequence[Event]) -> int:
        return await replace_with_events(
            self._absences, absence.id, version, _absence_fields(absence), events
        )

    async def absences_due(self, now: datetime) -> list[tuple[Absence, int]]:
        """Absences with a start or an end at or before `now` not yet acted on."""
        cursor = self._absences.find(
            {
                "$or": [
                    {"state": AbsenceState.SCHEDULED.value, "starts_at": {"$lte": now}},
                    {"state": AbsenceState.STARTED.value, "ends_at": {"$lte": now}},
                ]
            }
        )
        return [_absence(doc) async for doc in cursor]

    async def current_absences(self, now: datetime) -> list[Absence]:
        """Every absence not yet over: substitutes' own absences count too (P5.1)."""
        cursor = self._absences.find({"ends_at": {"$gt": now}})
        return [_absence(doc)[0] async for doc in cursor]

"""The registry's own database: accounts (with their pending events), nothing else."""

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.registry.domain import Account, AccountState
from shared.events import Event
from shared.outbox import Outbox, outbox_fields
from shared.store import Document


class AccountNameTaken(Exception):
    pass


def _to_doc(account: Account) -> dict[str, Any]:
    doc = asdict(account)
    doc["_id"] = doc.pop("id")
    doc["state"] = account.state.value
    doc["name_key"] = account.name_key
    return doc


def _from_doc(doc: dict[str, Any]) -> Account:
    return Account(
        id=doc["_id"],
        name=doc["name"],
        platform=doc["platform"],
        url=doc["url"],
        department=doc["department"],
        unit=doc["unit"],
        purpose=doc["purpose"],
        state=AccountState(doc["state"]),
        submitted_by=doc["submitted_by"],
        submitted_at=doc["submitted_at"],
    )


class RegistryStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._accounts = db["accounts"]
        self.accounts_outbox = Outbox(self._accounts)

    async def create_indexes(self) -> None:
        await self._accounts.create_index(
            [("platform", ASCENDING), ("name_key", ASCENDING)], unique=True, name="account_name_u"
        )
        await self._accounts.create_index(
            [("department", ASCENDING), ("state", ASCENDING)], name="department_state"
        )

    def outboxes(self) -> Sequence[Outbox]:
        return [self.accounts_outbox]

    async def add(self, account: Account, events: Sequence[Event]) -> None:
        try:
            await self._accounts.insert_one(_to_doc(account) | outbox_fields(events))
        except DuplicateKeyError:
            raise AccountNameTaken(account.platform, account.name) from None

    async def get(self, account_id: str) -> Account | None:
        doc = await self._accounts.find_one({"_id": account_id})
        return _from_doc(doc) if doc else None

    async def list(self, department: str | None = None, limit: int = 500) -> list[Account]:
        query = {"department": department} if department else {}
        cursor = self._accounts.find(query).sort("_id", ASCENDING).limit(limit)
        return [_from_doc(doc) async for doc in cursor]

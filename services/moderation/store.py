"""Moderation's own database, one kommun's at a time: the accounts it watches, every
delivery a connector made (so a retried webhook is one comment), the comments, and the
cases with their audit trails.

Every query shape used here is in tests/integration/test_store_conformance.py. Owners
are matched in Python, not by the store: nx-27017 answers element equality on an
indexed array wrongly, and a page of open cases is small.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.moderation.domain.accounts import WatchedAccount
from services.moderation.domain.cases import WAITING, Case, Comment
from shared.outbox import Outbox
from shared.store import Document, MongoRepository
from shared.unit_of_work import Mapper, Versioned

PAGE_LIMIT = 500


@dataclass(frozen=True)
class Delivery:
    """One item a connector delivered, keyed by what makes a retry the same delivery."""

    id: str
    kommun: str
    comment_id: str
    kind: str
    received_at: datetime


def _case_fields(case: Case) -> dict[str, Any]:
    return {"last_action_at": case.history[-1].at if case.history else case.opened_at}


class ModerationStore:
    def __init__(self, db: AsyncDatabase[Document], kommun: str) -> None:
        self.kommun = kommun
        self.accounts = MongoRepository(db["watched_accounts"], Mapper(WatchedAccount), kommun)
        self.deliveries = MongoRepository(db["deliveries"], Mapper(Delivery), kommun)
        self.comments = MongoRepository(db["comments"], Mapper(Comment), kommun)
        self.cases = MongoRepository(db["cases"], Mapper(Case, _case_fields), kommun)

    async def create_indexes(self) -> None:
        for repo in (self.accounts, self.deliveries, self.comments, self.cases):
            await repo.create_indexes()
        # Single fields where a comment or a sweep reads by them: nx-27017 uses no compound
        # index (README, "Store"), and a name or a pending hide narrows to a few anyway.
        await self.accounts.collection.create_index("name")
        await self.cases.collection.create_index("hide_pending")
        await self.comments.collection.create_index([("kommun", 1), ("account_id", 1)])
        await self.cases.collection.create_index([("kommun", 1), ("state", 1), ("due", 1)])
        await self.cases.collection.create_index([("kommun", 1), ("last_action_at", 1)])

    def outboxes(self) -> Sequence[Outbox]:
        return [r.outbox for r in (self.accounts, self.deliveries, self.comments, self.cases)]

    async def get(self, account_id: str) -> WatchedAccount | None:
        found = await self.accounts.get(account_id)
        return found.item if found else None

    async def account_named(self, platform: str, name: str) -> WatchedAccount | None:
        """The watched account a platform's item belongs to, by its name there."""
        found = await self.accounts.find({"platform": platform, "name": name}, limit=1)
        return found[0].item if found else None

    async def all_accounts(self) -> list[Versioned[WatchedAccount]]:
        return await self.accounts.find({})

    async def comment(self, comment_id: str) -> Comment | None:
        found = await self.comments.get(comment_id)
        return found.item if found else None

    async def comments_of(self, account_id: str, limit: int) -> list[Comment]:
        """The account's newest comments first (the feed a moderator reads, L2)."""
        found = await self.comments.find(
            {"account_id": account_id}, sort="received_at", limit=limit, newest_first=True
        )
        return [f.item for f in found]

    async def queue(
        self,
        account_id: str | None = None,
        label: str | None = None,
        category: str | None = None,
        owner: str | None = None,
        limit: int = PAGE_LIMIT,
    ) -> list[Case]:
        """Open and claimed cases, the nearest deadline first."""
        query: Document = {"state": {"$in": [s.value for s in WAITING]}}
        for name, value in (("account_id", account_id), ("label", label), ("category", category)):
            if value is not None:
                query[name] = value
        found = [f.item for f in await self.cases.find(query, sort="due")]
        if owner is not None:
            key = owner.casefold()
            found = [c for c in found if any(p.email.casefold() == key for p in c.owners)]
        return found[:limit]

    async def waiting_cases(self) -> list[Versioned[Case]]:
        """Every open or claimed case, for the deadline sweep and the age gauge."""
        return await self.cases.find({"state": {"$in": [s.value for s in WAITING]}}, sort="due")

    async def hide_pending(self) -> list[Versioned[Case]]:
        """Confidential cases not yet hidden (P10.3): a crash between opening and hiding."""
        return await self.cases.find({"hide_pending": True})

    async def changed_cases(self, since: datetime, limit: int) -> list[Case]:
        """Cases with an action at or after `since`, for the audit log."""
        found = await self.cases.find(
            {"last_action_at": {"$gte": since}}, sort="last_action_at", limit=limit
        )
        return [f.item for f in found]

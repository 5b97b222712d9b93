"""Moderation's own database, one kommun's at a time: the accounts it watches, every
delivery a connector made (so a retried webhook is one comment), the comments, and the
cases with their audit trails.

Every query shape used here is in tests/integration/test_store_conformance.py. Owners
are matched in Python, not by the store: nx-27017 answers element equality on an
indexed array wrongly, and a page of open cases is small.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.moderation.domain.accounts import WatchedAccount
from services.moderation.domain.cases import Case, Comment
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


# `watch_at` of a case with nothing left to watch: no sweep's range reaches it.
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


def _case_fields(case: Case) -> dict[str, Any]:
    """Derived fields the sweep and the queue query by, each with its own index:
    nx-27017 reads every document for `$in` or a compound index (README, "Store")."""
    return {
        "last_action_at": case.history[-1].at if case.history else case.opened_at,
        "waiting": case.waiting,
        "watch_at": case.watch_at or NEVER,
    }


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
        # index (README, "Store"). A name, a pending hide or a deadline come narrows to a
        # few; `waiting` to the open cases, not the closed ones of every year before.
        await self.accounts.collection.create_index("name")
        await self.cases.collection.create_index("hide_pending")
        await self.cases.collection.create_index("watch_at")
        await self.cases.collection.create_index("waiting")
        await self.comments.collection.create_index([("kommun", 1), ("account_id", 1)])
        await self.cases.collection.create_index([("kommun", 1), ("waiting", 1), ("due", 1)])
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
        query: Document = {"waiting": True}
        for name, value in (("account_id", account_id), ("label", label), ("category", category)):
            if value is not None:
                query[name] = value
        if owner is None:  # the store stops at the page; by owner, Python must filter first
            return [f.item for f in await self.cases.find(query, sort="due", limit=limit)]
        key = owner.casefold()
        found = [f.item for f in await self.cases.find(query, sort="due")]
        return [c for c in found if any(p.email.casefold() == key for p in c.owners)][:limit]

    async def due_to_watch(self, now: datetime) -> list[Versioned[Case]]:
        """Waiting cases whose warning or deadline has come and not yet been told (B1 item
        7, P5.3), nearest deadline first: not every open case, as a storm leaves thousands
        open and reading them all every sweep stalled the store (issue 13)."""
        return await self.cases.find({"watch_at": {"$lte": now}}, sort="due")

    async def count_waiting(
        self, label: str, *, received_by: datetime | None = None, due_by: datetime | None = None
    ) -> int:
        """Open or claimed cases of a label; with a moment, only those received, or due,
        at or before it."""
        query: Document = {"waiting": True, "label": label}
        if received_by is not None:
            query["received_at"] = {"$lte": received_by}
        if due_by is not None:
            query["due"] = {"$lte": due_by}
        return await self.cases.count(query)

    async def count_confidential_not_hidden(self) -> int:
        """Open confidential cases still visible on the platform (P10.3: must be none)."""
        return await self.cases.count(
            {"waiting": True, "category": "confidential", "hidden": False}
        )

    async def hide_pending(self) -> list[Versioned[Case]]:
        """Confidential cases not yet hidden (P10.3): a crash between opening and hiding."""
        return await self.cases.find({"hide_pending": True})

    async def changed_cases(self, since: datetime, limit: int) -> list[Case]:
        """Cases with an action at or after `since`, for the audit log."""
        found = await self.cases.find(
            {"last_action_at": {"$gte": since}}, sort="last_action_at", limit=limit
        )
        return [f.item for f in found]

"""A running archive service on real NATS and the store: events published to it as
moderation and the registry would, people to act as, a clock the test sets, and a view
of what it published and kept."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import nats

from kanalvakt.catalog import parts_of
from services.archive.store import ArchiveStore
from shared.events import (
    AccountClosed,
    AccountCreated,
    AccountRef,
    AccountUpdated,
    AccountUpdatedData,
    Actor,
    Author,
    CommentConfidential,
    CommentConfidentialData,
    CommentDeleted,
    CommentDeletedData,
    CommentEdited,
    CommentEditedData,
    CommentReceived,
    CommentRemoved,
    CommentRemovedData,
    ItemData,
    ModerationDecided,
    ModerationDecidedData,
    PostData,
    PostPublished,
)
from shared.ids import new_id
from shared.principal import Role
from shared.service import Dependencies, build_service
from shared.settings import ServiceName
from tests.helpers import account_created, eventually, service_settings
from tests.integration.moderation.harness import MONDAY, Clock
from tests.integration.registry.harness import headers
from tests.integration.running import Running

__all__ = ["MONDAY", "Clock"]

ARCHIVIST = headers("arkivarie", Role.ARCHIVIST)
REGISTRAR = headers("registrator", Role.REGISTRAR)
COMMUNICATOR = headers("cecilia", Role.COMMUNICATOR)
MODERATOR = Actor(subject="cecilia", name="Cecilia Kommunikatör")


@dataclass
class Archive(Running):
    clock: Clock

    @property
    def deps(self) -> Dependencies[ArchiveStore]:
        """Nora's dependencies: its store, configuration and clock."""
        deps: Dependencies[ArchiveStore] = self.app.state.deployment.of("nora")
        return deps

    async def account(self, name: str = "") -> AccountCreated:
        """An account's plan submitted (account.created), kept by the archive."""
        event = account_created(name or f"norakommun{new_id().lower()[-8:]}")
        await self.publish(event)
        await self.kept(f"account-{event.data.account_id}")
        return event

    def ref(self, created: AccountCreated) -> AccountRef:
        return AccountRef.model_validate(created.data.model_dump())

    def item(
        self, account: AccountCreated, text: str, *, is_kommun: bool = False, **fields: Any
    ) -> ItemData:
        platform_id = new_id().lower()
        return ItemData.model_validate(
            {
                "comment_id": f"facebook-{platform_id}",
                "platform": "facebook",
                "platform_id": platform_id,
                "account_id": account.data.account_id,
                "account_name": account.data.name,
                "author": Author(
                    id="kommun" if is_kommun else "10001",
                    name="Nora kommun" if is_kommun else "Medborgare Ett",
                    is_kommun=is_kommun,
                ),
                "text": text,
                "url": f"https://www.facebook.com/{platform_id}",
                "created_at": self.clock.now,
                "received_at": self.clock.now,
            }
            | fields
        )

    def comment(self, account: AccountCreated, text: str, **fields: Any) -> CommentReceived:
        data = self.item(account, text, **fields)
        return CommentReceived.new("nora", data.comment_id, data, self.clock.now)

    def post(self, account: AccountCreated, text: str, **fields: Any) -> PostPublished:
        data = PostData.model_validate(
            self.item(account, text, is_kommun=True, **fields).model_dump()
        )
        return PostPublished.new("nora", data.comment_id, data, self.clock.now)

    def edited(self, comment: CommentReceived, text: str, at: datetime) -> CommentEdited:
        data = CommentEditedData(
            comment_id=comment.data.comment_id,
            account_id=comment.data.account_id,
            text=text,
            edited_at=at,
        )
        return CommentEdited.new("nora", comment.data.comment_id, data, at)

    def deleted(
        self, comment: CommentReceived, at: datetime, how: str = "removed"
    ) -> CommentDeleted:
        data = CommentDeletedData(
            comment_id=comment.data.comment_id, account_id=comment.data.account_id, how=how, at=at
        )
        return CommentDeleted.new("nora", comment.data.comment_id, data, at)

    def removed(
        self, comment: CommentReceived, at: datetime, category: str = "personal_attack"
    ) -> CommentRemoved:
        data = CommentRemovedData.model_validate(
            {
                "comment_id": comment.data.comment_id,
                "account_id": comment.data.account_id,
                "how": "removed",
                "category": category,
                "rules": ["P5.9"],
                "reason": "Personangrepp",
                "by": MODERATOR,
                "at": at,
            }
        )
        return CommentRemoved.new("nora", comment.data.comment_id, data, at)

    def confidential(self, comment: CommentReceived, at: datetime) -> CommentConfidential:
        data = CommentConfidentialData(
            comment_id=comment.data.comment_id,
            account_id=comment.data.account_id,
            kinds=["personnummer"],
            hidden=True,
            at=at,
        )
        return CommentConfidential.new("nora", comment.data.comment_id, data, at)

    def decided(self, comment: CommentReceived, at: datetime, **fields: Any) -> ModerationDecided:
        data = ModerationDecidedData.model_validate(
            {
                "case_id": f"case-{comment.data.comment_id}",
                "comment_id": comment.data.comment_id,
                "account_id": comment.data.account_id,
                "resolution": "remove",
                "category": "personal_attack",
                "rules": ["P5.9"],
                "reason": "Personangrepp",
                "by": MODERATOR,
                "at": at,
            }
            | fields
        )
        return ModerationDecided.new("nora", comment.data.comment_id, data, at)

    def updated(self, account: AccountCreated, changes: list[str]) -> AccountUpdated:
        data = AccountUpdatedData.model_validate(
            account.data.model_dump()
            | {"state": "active", "changes": changes, "reapproval_required": False}
        )
        return AccountUpdated.new("nora", account.data.account_id, data, self.clock.now)

    def closed(self, account: AccountCreated) -> AccountClosed:
        return AccountClosed.new("nora", account.data.account_id, self.ref(account), self.clock.now)

    # What the archive kept and said

    async def record(self, record_id: str, who: dict[str, str] = ARCHIVIST) -> dict[str, Any]:
        answer = await self.client.get(f"/records/{record_id}", headers=who)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    async def kept(
        self,
        record_id: str,
        until: Callable[[dict[str, Any]], bool] = lambda _: True,
        what: str = "",
    ) -> dict[str, Any]:
        """The record once the archive keeps it and `until` holds of it."""
        found: dict[str, Any] = {}

        async def ready() -> bool:
            nonlocal found
            answer = await self.client.get(f"/records/{record_id}", headers=ARCHIVIST)
            found = answer.json() if answer.status_code == 200 else {}
            return bool(found) and until(found)

        await eventually(ready, what=what or f"record {record_id} kept")
        return found


def later(at: datetime, **delta: float) -> datetime:
    return at + timedelta(**delta)


@asynccontextmanager
async def archive(
    nats_url: str, mongodb_url: str, clock: Clock | None = None, **changes: Any
) -> AsyncIterator[Archive]:
    """An archive service with a database of its own; its periodic tasks run once at the
    start and then are left to the test."""
    clock = clock or Clock()
    settings = service_settings(
        ServiceName.ARCHIVE,
        nats_url,
        mongodb_url,
        **(
            {
                "archive_sweep_interval_seconds": 3600,
                "archive_verify_interval_seconds": 3600,
                "archive_cull_interval_seconds": 3600,
            }
            | changes
        ),
    )
    app = build_service(parts_of(ServiceName.ARCHIVE), settings, clock)
    nc = await nats.connect(nats_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://archive") as client:
            yield Archive(client, app, nc.jetstream(), clock)
    await nc.close()

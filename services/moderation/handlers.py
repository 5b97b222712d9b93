"""Moderation's events."""

from typing import Annotated

from faststream import Context

from services.moderation.domain import watch
from services.moderation.store import ModerationStore
from shared.bus import EventRouter
from shared.events import AccountCreated, CommentFlagged
from shared.kommun import KommunConfig
from shared.settings import ServiceName

events = EventRouter(ServiceName.MODERATION)
events.publishes(CommentFlagged)

Store = Annotated[ModerationStore, Context("store")]
Kommun = Annotated[KommunConfig, Context("kommun")]


@events.on(AccountCreated)
async def watch_new_account(event: AccountCreated, store: Store, kommun: Kommun) -> None:
    """Start watching a registered account with the kommun's deadlines (B1.7, P5.3)."""
    await store.watch(watch(event, kommun))

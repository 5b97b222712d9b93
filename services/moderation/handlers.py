"""Moderation's events."""

from typing import Annotated

from services.moderation.domain.accounts import watch
from services.moderation.store import ModerationStore
from shared.bus import ALREADY_HANDLED, EventRouter
from shared.events import AccountCreated, CommentFlagged
from shared.service import Dependencies, EventDeps
from shared.settings import ServiceName

events = EventRouter(ServiceName.MODERATION)
events.publishes(CommentFlagged)

Deps = Annotated[Dependencies[ModerationStore], EventDeps]


@events.on(AccountCreated, idempotent=True)
async def watch_new_account(event: AccountCreated, deps: Deps) -> object:
    """Start watching a registered account with its plan's deadlines (B1.7, P5.3)."""
    # Keyed by the account id: a redelivered account.created finds it watched.
    if not await deps.uow.add_once(deps.store.accounts, watch(event, deps.kommun)):
        return ALREADY_HANDLED
    return None

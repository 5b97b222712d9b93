"""Notify's events: each one that someone must hear about becomes a notification."""

from typing import Annotated

from services.notify.domain import plan_submitted
from services.notify.store import NotifyStore
from shared.bus import ALREADY_HANDLED, EventRouter
from shared.events import AccountCreated
from shared.service import Dependencies, EventDeps
from shared.settings import ServiceName

events = EventRouter(ServiceName.NOTIFY)

Deps = Annotated[Dependencies[NotifyStore], EventDeps]


@events.on(AccountCreated, idempotent=True)
async def tell_information_officer(event: AccountCreated, deps: Deps) -> object:
    """Send the informationsansvarig a copy of a submitted activity plan (P3.6)."""
    notification = plan_submitted(event, deps.kommun, deps.clock())  # id from the event
    if not await deps.uow.add_once(deps.store.notifications, notification):
        return ALREADY_HANDLED
    return None

"""Notify's events: each one that someone must hear about becomes a notification."""

from typing import Annotated

from faststream import Context

from services.notify.domain import plan_submitted
from services.notify.store import NotifyStore
from shared.bus import EventRouter
from shared.clock import Clock
from shared.events import AccountCreated
from shared.kommun import KommunConfig
from shared.settings import ServiceName

events = EventRouter(ServiceName.NOTIFY)

Store = Annotated[NotifyStore, Context("store")]
Kommun = Annotated[KommunConfig, Context("kommun")]
Now = Annotated[Clock, Context("clock")]


@events.on(AccountCreated)
async def tell_information_officer(
    event: AccountCreated, store: Store, kommun: Kommun, clock: Now
) -> None:
    """Send the informationsansvarig a copy of a submitted activity plan (P3.6)."""
    await store.record(plan_submitted(event, kommun, clock()))

"""The archive's events: everything worth keeping as a public record comes in here."""

from typing import Annotated

from faststream import Context

from services.archive.domain import record_of_account_plan
from services.archive.store import ArchiveStore
from shared.bus import EventRouter
from shared.clock import Clock
from shared.events import AccountCreated
from shared.settings import ServiceName

events = EventRouter(ServiceName.ARCHIVE)

Store = Annotated[ArchiveStore, Context("store")]
Now = Annotated[Clock, Context("clock")]


@events.on(AccountCreated)
async def keep_account_plan(event: AccountCreated, store: Store, clock: Now) -> None:
    """Keep a submitted activity plan as a record drawn up by the kommun (P3.6, P10.4)."""
    await store.keep(record_of_account_plan(event, clock()))

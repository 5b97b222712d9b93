"""The archive's events: everything worth keeping as a public record comes in here."""

from typing import Annotated

from services.archive.domain import record_of_account_plan
from services.archive.store import ArchiveStore
from shared.bus import ALREADY_HANDLED, EventRouter
from shared.events import AccountCreated
from shared.service import Dependencies, EventDeps
from shared.settings import ServiceName

events = EventRouter(ServiceName.ARCHIVE)

Deps = Annotated[Dependencies[ArchiveStore], EventDeps]


@events.on(AccountCreated, idempotent=True)
async def keep_account_plan(event: AccountCreated, deps: Deps) -> object:
    """Keep a submitted activity plan as a record drawn up by the kommun (P3.6, P10.4)."""
    record = record_of_account_plan(event, deps.clock())  # its id is the event's
    if not await deps.uow.add_once(deps.store.records, record):
        return ALREADY_HANDLED
    return None

"""The registry's HTTP API: request → domain → store (with its events) → 4xx on bad input."""

import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, status

from services.registry.domain import Account, AccountRegistration, submit
from services.registry.store import AccountNameTaken, RegistryStore
from shared.auth import Principal, Role, require
from shared.bus import EventPublisher
from shared.clock import utcnow
from shared.http import PublisherDep, StoreDep

log = logging.getLogger("kanalvakt.registry.api")

router = APIRouter(prefix="/accounts", tags=["accounts"])

SUBMITTERS = (Role.COMMUNICATOR, Role.ADMINISTRATOR, Role.INFORMATION_OFFICER)
READERS = tuple(Role)  # every staff role may read the register (P10.1)


Store = Annotated[RegistryStore, StoreDep]
Publisher = Annotated[EventPublisher, PublisherDep]


@router.post("", status_code=status.HTTP_201_CREATED)
async def submit_account(
    registration: AccountRegistration,
    store: Store,
    publisher: Publisher,
    principal: Annotated[Principal, require(*SUBMITTERS)],
) -> Account:
    """Submit an account's plan (P3.6); publishes `account.created`."""
    account, event = submit(registration, principal.subject, utcnow())
    try:
        await store.add(account, [event])
    except AccountNameTaken:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"name: an account named {account.name!r} on {account.platform} is already registered",
        ) from None
    try:
        await store.accounts_outbox.flush(account.id, publisher)
    except Exception:
        # Saved with its event in the outbox: the sweep publishes it when NATS is back.
        log.warning("account.created for %s queued in the outbox", account.id, exc_info=True)
    return account


@router.get("")
async def list_accounts(
    store: Store,
    _: Annotated[Principal, require(*READERS)],
    department: str | None = None,
) -> list[Account]:
    return await store.list(department)


@router.get("/{account_id}")
async def get_account(
    account_id: str, store: Store, _: Annotated[Principal, require(*READERS)]
) -> Account:
    account = await store.get(account_id)
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"account_id: no account {account_id!r}")
    return account

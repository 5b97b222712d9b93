"""Moderation's HTTP API."""

from typing import Annotated

from fastapi import APIRouter

from services.moderation.domain.accounts import WatchedAccount
from services.moderation.store import ModerationStore
from shared.auth import require
from shared.http import DepsDep, problems
from shared.principal import Principal, Role
from shared.service import Dependencies
from shared.unit_of_work import NotFound

router = APIRouter(prefix="/accounts", tags=["moderation"])

READERS = (Role.COMMUNICATOR, Role.ADMINISTRATOR, Role.INFORMATION_OFFICER)

Deps = Annotated[Dependencies[ModerationStore], DepsDep]


@router.get("/{account_id}", responses=problems(404))
async def get_watched_account(
    account_id: str, deps: Deps, _: Annotated[Principal, require(*READERS)]
) -> WatchedAccount:
    """The deadlines moderation holds an account to (B1.7, P5.3)."""
    account = await deps.store.get(account_id)
    if account is None:
        raise NotFound("account_id", account_id)
    return account

"""Moderation's HTTP API."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, status

from services.moderation.domain import WatchedAccount
from services.moderation.store import ModerationStore
from shared.auth import require
from shared.http import StoreDep
from shared.principal import Principal, Role

router = APIRouter(prefix="/accounts", tags=["moderation"])

READERS = (Role.COMMUNICATOR, Role.ADMINISTRATOR, Role.INFORMATION_OFFICER)


@router.get("/{account_id}")
async def get_watched_account(
    account_id: str,
    store: Annotated[ModerationStore, StoreDep],
    _: Annotated[Principal, require(*READERS)],
) -> WatchedAccount:
    """The deadlines moderation holds an account to (B1.7, P5.3)."""
    account = await store.get(account_id)
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"account_id: {account_id!r} is not watched")
    return account

"""Moderation's HTTP API."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from services.moderation.domain import WatchedAccount
from services.moderation.store import ModerationStore
from shared.auth import Principal, Role, require

router = APIRouter(prefix="/accounts", tags=["moderation"])

READERS = (Role.COMMUNICATOR, Role.ADMINISTRATOR, Role.INFORMATION_OFFICER)


class WatchedAccountOut(BaseModel):
    id: str
    name: str
    platform: str
    removal_hours: int
    answer_hours: int

    @classmethod
    def of(cls, account: WatchedAccount) -> "WatchedAccountOut":
        return cls.model_validate(account, from_attributes=True)


def _store(request: Request) -> ModerationStore:
    store: ModerationStore = request.app.state.store
    return store


@router.get("/{account_id}")
async def get_watched_account(
    account_id: str,
    store: Annotated[ModerationStore, Depends(_store)],
    _: Annotated[Principal, require(*READERS)],
) -> WatchedAccountOut:
    """The deadlines moderation holds an account to (B1.7, P5.3)."""
    account = await store.get(account_id)
    if account is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"account_id: {account_id!r} is not watched")
    return WatchedAccountOut.of(account)

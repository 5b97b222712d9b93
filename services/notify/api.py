"""Notify's HTTP API: what was (or will be) sent to whom."""

from typing import Annotated

from fastapi import APIRouter

from services.notify.domain import Notification
from services.notify.store import NotifyStore
from shared.auth import require
from shared.http import DepsDep
from shared.principal import Principal, Role
from shared.service import Dependencies

router = APIRouter(prefix="/notifications", tags=["notifications"])

READERS = (Role.INFORMATION_OFFICER, Role.OPERATIONS)

Deps = Annotated[Dependencies[NotifyStore], DepsDep]


@router.get("")
async def list_notifications(
    deps: Deps, _: Annotated[Principal, require(*READERS)], event_id: str | None = None
) -> list[Notification]:
    """Newest first; `event_id` narrows to the notifications one event caused."""
    return await deps.store.list(event_id)

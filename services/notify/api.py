"""Notify's HTTP API: what was (or will be) sent to whom."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from services.notify.domain import Notification, Status
from services.notify.store import NotifyStore
from shared.auth import Principal, Role, require

router = APIRouter(prefix="/notifications", tags=["notifications"])

READERS = (Role.INFORMATION_OFFICER, Role.OPERATIONS)


class NotificationOut(BaseModel):
    id: str
    event_id: str
    recipient_role: str
    recipient_name: str
    recipient_email: str
    language: str
    subject: str
    body: str
    created_at: datetime
    status: Status

    @classmethod
    def of(cls, n: Notification) -> "NotificationOut":
        return cls.model_validate(n, from_attributes=True)


def _store(request: Request) -> NotifyStore:
    store: NotifyStore = request.app.state.store
    return store


@router.get("")
async def list_notifications(
    store: Annotated[NotifyStore, Depends(_store)],
    _: Annotated[Principal, require(*READERS)],
    event_id: str | None = None,
) -> list[NotificationOut]:
    """Newest first; `event_id` narrows to the notifications one event caused."""
    return [NotificationOut.of(n) for n in await store.list(event_id)]

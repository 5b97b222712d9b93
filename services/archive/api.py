"""The archive's HTTP API: records for the registrar and archivists."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from services.archive.domain import Origin, Record, RecordKind
from services.archive.store import ArchiveStore
from shared.auth import Principal, Role, require

router = APIRouter(prefix="/records", tags=["records"])

READERS = (Role.ARCHIVIST, Role.REGISTRAR, Role.INFORMATION_OFFICER)


class RecordOut(BaseModel):
    id: str
    kind: RecordKind
    origin: Origin
    account_id: str
    title: str
    recorded_at: datetime
    event_type: str
    content: dict[str, Any]

    @classmethod
    def of(cls, record: Record) -> "RecordOut":
        return cls.model_validate(record, from_attributes=True)


def _store(request: Request) -> ArchiveStore:
    store: ArchiveStore = request.app.state.store
    return store


Store = Annotated[ArchiveStore, Depends(_store)]


@router.get("")
async def list_records(
    account_id: str, store: Store, _: Annotated[Principal, require(*READERS)]
) -> list[RecordOut]:
    """Records kept for one account, oldest first."""
    return [RecordOut.of(r) for r in await store.for_account(account_id)]


@router.get("/{record_id}")
async def get_record(
    record_id: str, store: Store, _: Annotated[Principal, require(*READERS)]
) -> RecordOut:
    record = await store.get(record_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"record_id: no record {record_id!r}")
    return RecordOut.of(record)

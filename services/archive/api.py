"""The archive's HTTP API: records for the registrar and archivists."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, status

from services.archive.domain import Record
from services.archive.store import ArchiveStore
from shared.auth import require
from shared.http import StoreDep
from shared.principal import Principal, Role

router = APIRouter(prefix="/records", tags=["records"])

READERS = (Role.ARCHIVIST, Role.REGISTRAR, Role.INFORMATION_OFFICER)


Store = Annotated[ArchiveStore, StoreDep]


@router.get("")
async def list_records(
    account_id: str, store: Store, _: Annotated[Principal, require(*READERS)]
) -> list[Record]:
    """Records kept for one account, oldest first."""
    return await store.for_account(account_id)


@router.get("/{record_id}")
async def get_record(
    record_id: str, store: Store, _: Annotated[Principal, require(*READERS)]
) -> Record:
    record = await store.get(record_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"record_id: no record {record_id!r}")
    return record

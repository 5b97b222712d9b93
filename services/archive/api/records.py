"""Records for the registrar and archivists: an account's records, one record with its
versions and states, and its chain entries (P3.7b, P10.4, P10.6, L4, L6)."""

from typing import Annotated

from fastapi import APIRouter

from services.archive.domain.records import Record
from services.archive.store import ArchiveStore
from shared.auth import require
from shared.http import DepsDep, problems
from shared.principal import Principal, Role
from shared.service import Dependencies
from shared.unit_of_work import NotFound

router = APIRouter(prefix="/records", tags=["records"])

READERS = (Role.ARCHIVIST, Role.REGISTRAR, Role.INFORMATION_OFFICER)

Deps = Annotated[Dependencies[ArchiveStore], DepsDep]
Reader = Annotated[Principal, require(*READERS)]


@router.get("")
async def list_records(account_id: str, deps: Deps, _: Reader) -> list[Record]:
    """Records kept for one account, oldest first."""
    return await deps.store.records.for_account(account_id)


@router.get("/{record_id}", responses=problems(404))
async def get_record(record_id: str, deps: Deps, _: Reader) -> Record:
    record = await deps.store.records.get(record_id)
    if record is None:
        raise NotFound("record_id", record_id)
    return record

"""Records for the registrar and archivists: an account's records, one record with its
versions and states, and its chain entries (P3.7b, P10.4, P10.6, L4, L6)."""

from typing import Annotated

from fastapi import APIRouter

from services.archive.domain.records import Record
from services.archive.domain.search import is_registrar, shown
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
async def list_records(account_id: str, deps: Deps, who: Reader) -> list[Record]:
    """Records kept for one account, oldest first (at most 500: GET /records/search pages
    through more). Secret content is masked unless the caller is the registrar (L7)."""
    registrar = is_registrar(who.roles)
    return [shown(r, registrar=registrar) for r in await deps.store.records.for_account(account_id)]


@router.get("/{record_id}", responses=problems(404))
async def get_record(record_id: str, deps: Deps, who: Reader) -> Record:
    """One record with every version, state, decision and chain entry id; secret content
    masked unless the caller is the registrar (L7)."""
    record = await deps.store.records.get(record_id)
    if record is None:
        raise NotFound("record_id", record_id)
    return shown(record, registrar=is_registrar(who.roles))

"""The diarium for the registrar and archivists: diary entries newest first, one entry,
a lookup by number, and registering a record by hand (P10.3, P10.7, L5).

An entry's id is URL-safe (e.g. `<kommun>-2026-000123`); its number is in the kommun's
format and may hold a space and '/' (`KS 2026/000123`), so it is looked up with the
`number` query parameter, not in the path.
"""

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.archive.domain.diarium import DiaryEntry
from services.archive.handlers import diarium
from services.archive.store import ArchiveStore
from services.archive.store.diarium import PAGE_LIMIT
from shared.auth import require
from shared.http import DepsDep, problems
from shared.principal import Principal, Role
from shared.rules import rule_error
from shared.sensitive import personnummer_in
from shared.service import Dependencies
from shared.unit_of_work import NotFound

router = APIRouter(tags=["diarium"])

Deps = Annotated[Dependencies[ArchiveStore], DepsDep]
Reader = Annotated[Principal, require(Role.REGISTRAR, Role.ARCHIVIST)]
Registrar = Annotated[Principal, require(Role.REGISTRAR)]


@router.get("/diarium")
async def list_entries(
    deps: Deps,
    _: Reader,
    year: Annotated[int | None, Query(ge=1900, le=9999, description="The diary year.")] = None,
    account_id: Annotated[str | None, Query(min_length=1, description="One account's.")] = None,
    number: Annotated[
        str | None, Query(min_length=1, description="A diary number, e.g. KS 2026/000123.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT, description="How many at most.")] = 100,
) -> list[DiaryEntry]:
    """Diary entries, newest first (by year, then number); `number` finds one entry."""
    return await deps.store.diarium.find(
        year=year, account_id=account_id, number=number, limit=limit
    )


@router.get("/diarium/{entry_id}", responses=problems(404))
async def get_entry(entry_id: str, deps: Deps, _: Reader) -> DiaryEntry:
    entry = await deps.store.diarium.get(entry_id)
    if entry is None:
        raise NotFound("entry_id", entry_id)
    return entry


class RegistrationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=1,
        max_length=2000,
        description="Why the record is registered; it goes into the diarium and the "
        "record.registered event, so it holds no personnummer (L7).",
    )

    @field_validator("reason")
    @classmethod
    def _said(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise rule_error("P10.3", "Ange varför posten registreras.", "say why it is registered")
        if personnummer_in(value):
            raise rule_error(
                "L7",
                "Skriv inget personnummer i skälet: det blir offentligt i diariet.",
                "no personnummer in the reason: it becomes public in the diarium",
            )
        return value


@router.post(
    "/records/{record_id}/registration",
    status_code=status.HTTP_201_CREATED,
    responses=problems(404, 409, 422),
)
async def register_record(
    record_id: str, body: RegistrationBody, deps: Deps, _: Registrar
) -> DiaryEntry:
    """P10.3: register a record in the diarium by hand (registration is the main rule;
    confidential records are registered at once without asking). 409 names the number
    of one registered already; 422 refuses one of obviously minor importance (P10.7).
    Publishes `record.registered`."""
    record = await deps.store.records.get(record_id)
    if record is None:
        raise NotFound("record_id", record_id)
    return await diarium.register_by_hand(deps, record, body.reason)

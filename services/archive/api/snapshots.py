"""PDF/A snapshots of accounts (P10.5, L8): the list, one snapshot's metadata, its file
(with its SHA-256 in `X-Content-SHA256`), and a snapshot taken now at an archivist's
request."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.archive.domain.snapshots import Snapshot
from services.archive.handlers import snapshots
from services.archive.store import ArchiveStore
from shared.auth import require
from shared.http import DepsDep, RequestKey, problems
from shared.ids import new_id
from shared.principal import Principal, Role
from shared.service import Dependencies
from shared.unit_of_work import NotFound

router = APIRouter(tags=["snapshots"])

READERS = (Role.ARCHIVIST, Role.REGISTRAR, Role.INFORMATION_OFFICER)

Deps = Annotated[Dependencies[ArchiveStore], DepsDep]
Reader = Annotated[Principal, require(*READERS)]
Archivist = Annotated[Principal, require(Role.ARCHIVIST)]
Limit = Annotated[int, Query(ge=1, le=500, description="How many at most.")]
AccountId = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/snapshots")
async def list_snapshots(
    deps: Deps,
    _: Reader,
    account_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Limit = 500,
) -> list[Snapshot]:
    """Snapshots, newest first, of one account or of all; without their files."""
    return await deps.store.snapshots.find(account_id, limit)


@router.get("/snapshots/{snapshot_id}", responses=problems(404))
async def get_snapshot(snapshot_id: str, deps: Deps, _: Reader) -> Snapshot:
    found = await deps.store.snapshots.info(snapshot_id)
    if found is None:
        raise NotFound("snapshot_id", snapshot_id)
    return found


@router.get(
    "/snapshots/{snapshot_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **problems(404)},
)
async def get_snapshot_pdf(snapshot_id: str, deps: Deps, _: Reader) -> Response:
    """The PDF/A file as kept; `X-Content-SHA256` is the SHA-256 kept with it (L8)."""
    found = await deps.store.snapshots.file(snapshot_id)
    if found is None:
        raise NotFound("snapshot_id", snapshot_id)
    snapshot, pdf = found
    name = (
        f"ogonblicksbild-{snapshot.account_name or snapshot.account_id}-{snapshot.taken_at:%Y%m%d}"
    )
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "X-Content-SHA256": snapshot.sha256,
            "Content-Disposition": f'attachment; filename="{safe}.pdf"',
        },
    )


@router.post(
    "/accounts/{account_id}/snapshots",
    status_code=status.HTTP_201_CREATED,
    responses=problems(404),
)
async def take_snapshot(
    account_id: AccountId, deps: Deps, _: Archivist, request_key: RequestKey
) -> Snapshot:
    """P10.5: a snapshot of the account now (reason `requested`); the same Idempotency-Key
    again returns the first one. 404 if the archive keeps no such account."""
    key = f"requested {request_key or new_id()}"
    return await snapshots.take(deps, account_id, "requested", key=key)

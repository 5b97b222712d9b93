"""Requests for public records (L4): search, export, marks and the access log.

Routes here come before /records/{record_id} (api/__init__.py), so `search` and `export`
are never taken for record ids. Everything a search or an export returns is masked
unless the caller holds the registrar role (L7); every one is logged (GET /access-log).
"""

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.archive.domain.records import (
    AuthorKind,
    Origin,
    PlatformState,
    Record,
    RecordKind,
)
from services.archive.domain.search import PAGE_LIMIT, Cursor, Filters, dated, words_of
from services.archive.handlers import search as use
from services.archive.handlers.search import Format
from services.archive.store import ArchiveStore
from shared.auth import require
from shared.http import PAGED, DepsDep, link_next, problems
from shared.principal import Principal, Role
from shared.rules import violation
from shared.service import Dependencies

router = APIRouter(tags=["requests for public records"])

READERS = (Role.ARCHIVIST, Role.REGISTRAR, Role.INFORMATION_OFFICER)

Deps = Annotated[Dependencies[ArchiveStore], DepsDep]
Reader = Annotated[Principal, require(*READERS)]
Registrar = Annotated[Principal, require(Role.REGISTRAR)]
LogReader = Annotated[Principal, require(Role.ARCHIVIST, Role.REGISTRAR)]

AccountId = Annotated[str | None, Query(description="One account's records.")]
Since = Annotated[
    AwareDatetime | None,
    Query(description="Dated at or after (from when inkommen/upprättad, L4), with time zone."),
]
Until = Annotated[AwareDatetime | None, Query(description="Dated before, with time zone.")]
AuthorKindQ = Annotated[
    AuthorKind | None, Query(description="The kommun's own or the public's (P10.6).")
]
StateQ = Annotated[PlatformState | None, Query(description="Latest state on the platform (L6).")]
KindQ = Annotated[RecordKind | None, Query(description="post, comment or account.")]
OriginQ = Annotated[Origin | None, Query(description="inkommen or upprättad (L4).")]
Words = Annotated[
    str | None,
    Query(
        max_length=500,
        description="Words that must all occur in some version of the text (any case; "
        "a word edited away still counts).",
    ),
]


def _filters(
    account_id: str | None,
    since: datetime | None,
    until: datetime | None,
    author_kind: AuthorKind | None,
    state: PlatformState | None,
    kind: RecordKind | None,
    origin: Origin | None,
    q: str | None,
) -> Filters:
    words: tuple[str, ...] = ()
    if q is not None:
        words = tuple(words_of(q))
        if not words:
            raise violation(
                "q",
                "L4",
                "Sökningen innehåller inga ord (och personnummer söks inte).",
                "the search holds no words (and personnummer are not searched)",
            )
    if since is not None and until is not None and until <= since:
        raise violation(
            "until", "L4", "Slutet ska vara efter början.", "`until` must be after `since`"
        )
    return Filters(account_id, since, until, author_kind, state, kind, origin, words)


def _cursor(after: str | None) -> Cursor | None:
    if after is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(after.encode() + b"==").decode()
        at, record_id = raw.split(" ", 1)
        return Cursor(datetime.fromisoformat(at), record_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise violation(
            "after",
            "input",
            "Ogiltig markör: använd länken till nästa sida.",
            "not a cursor: follow the next page's link",
        ) from None


def _after(record: Record) -> str:
    at = dated(record)
    assert at is not None  # every kept record has its first fact's time
    raw = f"{at.isoformat()} {record.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@router.get("/records/search", responses=PAGED)
async def search_records(
    request: Request,
    response: Response,
    deps: Deps,
    by: Reader,
    account_id: AccountId = None,
    since: Since = None,
    until: Until = None,
    author_kind: AuthorKindQ = None,
    state: StateQ = None,
    kind: KindQ = None,
    origin: OriginQ = None,
    q: Words = None,
    after: Annotated[
        str | None, Query(description="Cursor: the `after` of the previous page's next link.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT, description="Records on a page.")] = 100,
) -> list[Record]:
    """Records matching every filter given, oldest first (by from when they are inkommen
    or upprättad), a page at a time; masked unless the caller is the registrar (L7).
    Logged in the access log (L4)."""
    filters = _filters(account_id, since, until, author_kind, state, kind, origin, q)
    page = await use.search(deps, by, filters, _cursor(after), limit)
    if page:
        link_next(request, response, len(page) == limit, after=_after(page[-1]), limit=limit)
    return page


@router.get(
    "/records/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Every matching record with its versions, states and chain "
            "hashes: JSON (a list), CSV (one row per version, a header row) or PDF.",
            "content": {"application/json": {}, "text/csv": {}, "application/pdf": {}},
        }
    },
)
async def export_records(
    deps: Deps,
    by: Reader,
    format: Format = Format.JSON,
    account_id: AccountId = None,
    since: Since = None,
    until: Until = None,
    author_kind: AuthorKindQ = None,
    state: StateQ = None,
    kind: KindQ = None,
    origin: OriginQ = None,
    q: Words = None,
) -> StreamingResponse:
    """Export what a search finds, without pages: at most 50,000 records (2,000 as PDF),
    else 422 naming the limit. Masked unless the caller is the registrar (L7); logged (L4)."""
    filters = _filters(account_id, since, until, author_kind, state, kind, origin, q)
    made = await use.export(deps, by, filters, format)
    return StreamingResponse(
        made.body,
        media_type=made.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{made.filename}"',
            "X-Record-Count": str(made.count),
        },
    )


class MarkIn(BaseModel):
    """A passage of one version to mask for everyone but the registrar (L7, OSL)."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1, description="The version's number (1 is the first).")
    start: int = Field(ge=0, description="The passage's first character (0-based).")
    end: int = Field(ge=1, description="Just after the passage's last character.")
    reason: str = Field(min_length=1, max_length=500, description="Why it is secret (OSL).")


@router.post("/records/{record_id}/marks", status_code=201, responses=problems(404))
async def mark_passage(record_id: str, body: MarkIn, deps: Deps, by: Registrar) -> Record:
    """The registrar marks a passage secret: kept as a fact in the account's chain."""
    return await use.mark(deps, by, record_id, body.version, body.start, body.end, body.reason)


class AccessLogEntry(BaseModel):
    id: str
    at: datetime
    action: str = Field(description="search or export")
    subject: str
    name: str
    roles: list[str]
    filters: dict[str, Any]
    format: str
    count: int = Field(description="Records returned (on this page, for a search).")
    after: str | None = None


@router.get("/access-log", tags=["requests for public records"])
async def read_access_log(
    deps: Deps,
    _: LogReader,
    before: Annotated[
        AwareDatetime | None, Query(description="Entries before this time (the next page).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT)] = 100,
) -> list[AccessLogEntry]:
    """Who searched and exported what, and when: newest first (L4)."""
    found = await use.access_log(deps, before, limit)
    return [AccessLogEntry.model_validate(doc | {"id": doc["_id"]}) for doc in found]

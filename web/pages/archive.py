"""The archive for the registrar and archivists: search and export for requests for
public records (L4, L7), a record's versions and states (P10.4, P10.6, L6), legal holds
(P10.2, L6), the diarium (P10.3, L5), snapshots to download (P10.5, L8), culling
(gallring, P10.2, L6, L7) and the access log (L4).

Every page calls the archive API (services/archive/api/) with the person's token, so its
roles hold as they are: searching and reading for the archivist, the registrar and the
informationsansvarig; holds and culling for the archivist and registrar (the culling log
read by the informationsansvarig too); the diarium and the access log for the registrar
and archivists; registering by hand for the registrar. Masking (L7) is the
API's: the registrar sees what others do not. Downloads (an export, a snapshot's PDF)
are streamed from the API's answer, never held whole in the web part.
"""

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import unquote, urlencode
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from shared.principal import Role
from web.i18n import t
from web.render import render
from web.services import (
    NEXT_AFTER,
    Api,
    ApiDep,
    ApiError,
    ApiUnavailable,
    FieldError,
    by_field,
    part,
    raise_for,
)
from web.session import return_to

router = APIRouter(prefix="/archive")

SWEDEN = ZoneInfo("Europe/Stockholm")
# The archive's search filters (services/archive/api/search.py) and their choices.
AUTHOR_KINDS = ("kommun", "public")
STATES = ("published", "edited", "hidden", "removed", "deleted")
KINDS = ("post", "comment", "account")
ORIGINS = ("inkommen", "upprättad")
FORMATS = ("json", "csv", "pdf")
HOLD_SCOPES = ("account", "case", "range")
PAGE = 50  # records on a search page
# What a redirect after a change may say (`?done=`): only these, never free text.
DONE = {
    "hold": "archive.hold_set",
    "lifted": "archive.hold_lifted",
    "registered": "archive.registered_done",
    "snapshot": "archive.snapshot_taken",
}
# Response headers of a download passed on to the browser.
PASSED_ON = ("content-type", "content-disposition", "x-record-count", "x-content-sha256")


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _day_start(day: str, offset_days: int = 0) -> str:
    """A date field (YYYY-MM-DD) as the API's aware time: midnight in Swedish time; the
    text as it is if it is no date, for the API to name."""
    try:
        moment = datetime.combine(datetime.fromisoformat(day).date(), time(), SWEDEN)
    except ValueError:
        return day
    return (moment + timedelta(days=offset_days)).isoformat()


def search_params(filters: Mapping[str, str]) -> dict[str, str]:
    """The search form as the archive's query: days in Swedish time, `until` the whole
    day included (the API's `until` is exclusive)."""
    params = {k: v for k, v in filters.items() if v and k not in ("since", "until")}
    if filters.get("since"):
        params["since"] = _day_start(filters["since"])
    if filters.get("until"):
        params["until"] = _day_start(filters["until"], 1)
    return params


def _done(request: Request) -> str:
    return DONE.get(request.query_params.get("done", ""), "")


async def _json(api: Api, method: str, path: str, **options: Any) -> Any:
    answer = await api.call("archive", method, path, **options)
    return answer.json()


async def _download(request: Request, api: Api, path: str, params: Mapping[str, str]) -> Response:
    """The API's answer streamed to the browser as it comes (an export may be 50,000
    records), with its type, file name, count and checksum; the API's refusal (a filter
    it names, a limit) as a readable page."""
    client: httpx.AsyncClient = request.app.state.http
    url = request.app.state.web_settings.archive_url.rstrip("/") + path
    headers = {"Authorization": f"Bearer {api.user.token}"}
    try:
        answer = await client.send(
            client.build_request("GET", url, params=params, headers=headers), stream=True
        )
    except httpx.HTTPError as exc:
        raise ApiUnavailable("archive", type(exc).__name__) from None
    if answer.status_code >= 400:
        await answer.aread()
        await answer.aclose()
        # As every other call (services.raise_for): a 401 comes back to the page with its
        # query (the export's filters), a 502 that says why is the API's refusal.
        raise_for("archive", answer, return_to(request))

    async def body() -> AsyncIterator[bytes]:
        async for chunk in answer.aiter_bytes():  # decoded: no Content-Encoding passed on
            yield chunk

    passed = {k: v for k, v in answer.headers.items() if k.lower() in PASSED_ON}
    media_type = passed.pop("content-type", "application/octet-stream")
    return StreamingResponse(
        body(), media_type=media_type, headers=passed, background=BackgroundTask(answer.aclose)
    )


# Search and export (L4, L7)

SEARCH_FIELDS = ("account_id", "since", "until", "author_kind", "state", "kind", "origin", "q")


@router.get("")
async def search(request: Request, api: ApiDep) -> Response:
    """Search for a request for public records (L4): no filter given, only the form; a
    filter given, the matching records a page at a time and links to export them all."""
    filters = {name: request.query_params.get(name, "").strip() for name in SEARCH_FIELDS}
    after = request.query_params.get("after", "")
    records: list[dict[str, Any]] | None = None
    errors: dict[str, list[FieldError]] = {}
    next_url = export_query = None
    status = 200
    if any(filters.values()):
        params = search_params(filters) | {"limit": str(PAGE)}
        if after:
            params["after"] = after
        try:
            answer = await api.call("archive", "GET", "/records/search", params=params)
        except ApiError as exc:
            if exc.status != 422 or not exc.errors:
                raise
            errors, status = by_field(exc.errors), 422
        else:
            records = answer.json()
            found = NEXT_AFTER.search(answer.headers.get("link", ""))
            kept = {k: v for k, v in filters.items() if v}
            if found:
                next_url = "/archive?" + urlencode(kept | {"after": unquote(found.group(1))})
            export_query = urlencode(kept)
    return render(
        request,
        "archive/search.html",
        status_code=status,
        user=api.user.principal,
        filters=filters,
        values=filters,
        errors=errors,
        records=records,
        next_url=next_url,
        export_query=export_query,
        formats=FORMATS,
        author_kinds=AUTHOR_KINDS,
        states=STATES,
        kinds=KINDS,
        origins=ORIGINS,
    )


@router.get("/export")
async def export(request: Request, api: ApiDep) -> Response:
    """Every record the search finds, as JSON, CSV or PDF/A, streamed from the archive
    (at most 50,000; the API names the limit). Logged by the archive (L4)."""
    filters = {name: request.query_params.get(name, "").strip() for name in SEARCH_FIELDS}
    params = search_params(filters)
    params["format"] = request.query_params.get("format", "json")
    return await _download(request, api, "/records/export", params)


# A record


@router.get("/records/{record_id}")
async def record(request: Request, api: ApiDep, record_id: str) -> Response:
    """A record: every version, its states on the platform, the decisions behind them,
    its diary number if registered, and the chain entries that keep it (P3.7b, L6)."""
    found = await _json(api, "GET", f"/records/{part(record_id)}")
    return _record_page(request, api, found, {}, {})


def _record_page(
    request: Request,
    api: Api,
    found: dict[str, Any],
    errors: dict[str, list[FieldError]],
    values: dict[str, str],
    status: int = 200,
) -> Response:
    principal = api.user.principal
    return render(
        request,
        "archive/record.html",
        status_code=status,
        user=principal,
        record=found,
        errors=errors,
        values=values,
        may_register=Role.REGISTRAR in principal.roles,
        done=_done(request),
        key=str(uuid.uuid4()),
    )


@router.post("/records/{record_id}/registration")
async def register(request: Request, api: ApiDep, record_id: str) -> Response:
    """P10.3: the registrar registers a record in the diarium by hand, with why."""
    form = await request.form()
    reason = _text(form, "reason")
    try:
        await api.call(
            "archive",
            "POST",
            f"/records/{part(record_id)}/registration",
            json={"reason": reason},
            key=_text(form, "key") or None,
        )
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = by_field(exc.errors) or {
            "reason": [FieldError("reason", "", exc.detail, exc.detail)]  # 409: registered
        }
        found = await _json(api, "GET", f"/records/{part(record_id)}")
        return _record_page(request, api, found, errors, {"reason": reason}, exc.status)
    return RedirectResponse(f"/archive/records/{part(record_id)}?done=registered", status_code=303)


# Legal holds (P10.2, L6)

HOLD_FIELDS = ("scope", "account_id", "case_id", "from", "to", "reason")


async def _holds_page(
    request: Request,
    api: Api,
    errors: dict[str, list[FieldError]],
    values: dict[str, str],
    status: int = 200,
) -> Response:
    show_all = request.query_params.get("all") == "true"
    holds = await _json(api, "GET", "/holds", params={"all": "true"} if show_all else None)
    principal = api.user.principal
    return render(
        request,
        "archive/holds.html",
        status_code=status,
        user=principal,
        holds=holds,
        show_all=show_all,
        scopes=HOLD_SCOPES,
        may_act=bool({Role.ARCHIVIST, Role.REGISTRAR} & set(principal.roles)),
        errors=errors,
        values=values,
        done=_done(request),
        key=str(uuid.uuid4()),
    )


@router.get("/holds")
async def holds(request: Request, api: ApiDep) -> Response:
    """Holds in force (or every hold, lifted ones too), and the form to set one."""
    return await _holds_page(request, api, {}, {})


@router.post("/holds")
async def set_hold(request: Request, api: ApiDep) -> Response:
    """Set a hold with its reason (L6): what it covers is never culled until lifted."""
    form = await request.form()
    values = {name: _text(form, name) for name in HOLD_FIELDS}
    body = {k: v for k, v in values.items() if v and k != "reason"} | {"reason": values["reason"]}
    try:
        await api.call("archive", "POST", "/holds", json=body, key=_text(form, "key") or None)
    except ApiError as exc:
        if exc.status != 422 or not exc.errors:
            raise
        return await _holds_page(request, api, by_field(exc.errors), values, 422)
    return RedirectResponse("/archive/holds?done=hold", status_code=303)


@router.post("/holds/{hold_id}/lift")
async def lift_hold(request: Request, api: ApiDep, hold_id: str) -> Response:
    """Lift a hold with why (L6); it stays on record, lifted."""
    form = await request.form()
    reason = _text(form, "reason")
    try:
        await api.call("archive", "POST", f"/holds/{part(hold_id)}/lift", json={"reason": reason})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = [FieldError(f"lift-{hold_id}", e.rule, e.sv, e.en) for e in exc.errors]
        if not errors:  # 409: lifted already, said in the detail
            errors = [FieldError(f"lift-{hold_id}", "", exc.detail, exc.detail)]
        return await _holds_page(request, api, by_field(errors), {}, exc.status)
    return RedirectResponse("/archive/holds?done=lifted", status_code=303)


# The diarium (P10.3, L5)


@router.get("/diarium")
async def diarium(
    request: Request, api: ApiDep, year: str = "", account_id: str = "", number: str = ""
) -> Response:
    """Diary entries, newest first, by year, account or number."""
    filters = {"year": year.strip(), "account_id": account_id.strip(), "number": number.strip()}
    params = {k: v for k, v in filters.items() if v}
    errors: dict[str, list[FieldError]] = {}
    entries: list[dict[str, Any]] = []
    status = 200
    try:
        entries = await _json(api, "GET", "/diarium", params=params)
    except ApiError as exc:
        if exc.status != 422 or not exc.errors:
            raise
        errors, status = by_field(exc.errors), 422
    return render(
        request,
        "archive/diarium.html",
        status_code=status,
        user=api.user.principal,
        entries=entries,
        filters=filters,
        values=filters,
        errors=errors,
    )


# Snapshots (P10.5, L8)


@router.get("/snapshots")
async def snapshots(request: Request, api: ApiDep, account_id: str = "") -> Response:
    """Snapshots, newest first, each with its SHA-256 and a link to its PDF/A file."""
    params = {"account_id": account_id.strip()} if account_id.strip() else None
    found = await _json(api, "GET", "/snapshots", params=params)
    principal = api.user.principal
    return render(
        request,
        "archive/snapshots.html",
        user=principal,
        snapshots=found,
        account_id=account_id.strip(),
        may_take=Role.ARCHIVIST in principal.roles,
        done=_done(request),
        key=str(uuid.uuid4()),
    )


@router.get("/snapshots/{snapshot_id}/pdf")
async def snapshot_pdf(request: Request, api: ApiDep, snapshot_id: str) -> Response:
    """The file as kept, with `X-Content-SHA256` (L8), streamed from the archive."""
    return await _download(request, api, f"/snapshots/{part(snapshot_id)}/pdf", {})


@router.post("/snapshots")
async def take_snapshot(request: Request, api: ApiDep) -> Response:
    """P10.5: an archivist has a snapshot of an account taken now."""
    form = await request.form()
    account_id = _text(form, "account_id")
    await api.call(
        "archive",
        "POST",
        f"/accounts/{part(account_id or '-')}/snapshots",
        key=_text(form, "key") or None,
    )
    query = urlencode({"account_id": account_id, "done": "snapshot"})
    return RedirectResponse(f"/archive/snapshots?{query}", status_code=303)


# Culling (gallring: P10.2, L6, L7)

CULL_LOG_LIMIT = 50  # log entries shown; the API gives at most 500
CULLERS = (Role.ARCHIVIST, Role.REGISTRAR)  # who may run a cull (services/archive/api/culling.py)


async def _culling_page(
    request: Request,
    api: Api,
    run: dict[str, Any] | None,
    errors: dict[str, list[FieldError]],
    status: int = 200,
) -> Response:
    log = await _json(api, "GET", "/culling/log", params={"limit": str(CULL_LOG_LIMIT)})
    principal = api.user.principal
    return render(
        request,
        "archive/culling.html",
        status_code=status,
        user=principal,
        log=log,
        run=run,
        errors=errors,
        may_cull=bool(set(CULLERS) & set(principal.roles)),
        key=str(uuid.uuid4()),
    )


@router.get("/culling")
async def culling(request: Request, api: ApiDep) -> Response:
    """The culling log, newest first (P10.2, L6), and the forms to see what would go
    (a dry run) and to cull it."""
    return await _culling_page(request, api, None, {})


@router.post("/culling")
async def run_culling(request: Request, api: ApiDep) -> Response:
    """A dry run lists what the retention rules let go now; culling for real asks the API
    with `dry_run=false`, and only once the person has ticked that they mean it, since a
    cull cannot be undone (L6: only under a decided retention rule, never under a hold)."""
    form = await request.form()
    dry_run = _text(form, "mode") != "cull"
    if not dry_run and _text(form, "confirm") != "yes":
        error = FieldError(
            "confirm", "L6", t("culling.confirm_missing", "sv"), t("culling.confirm_missing", "en")
        )
        return await _culling_page(request, api, None, {"confirm": [error]}, 422)
    try:
        answer = await api.call(
            "archive",
            "POST",
            "/culling/runs",
            params={"dry_run": "true" if dry_run else "false"},
            key=_text(form, "key") or None,
        )
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = by_field(exc.errors) or {
            "confirm": [FieldError("confirm", "", exc.detail, exc.detail)]
        }
        return await _culling_page(request, api, None, errors, exc.status)
    return await _culling_page(request, api, answer.json(), {})


# The access log (L4)

ACCESS_PAGE = 100  # entries on a page, as the API's default
ACCESS_LIMIT = 500  # the API's most (services/archive/domain/search.py, PAGE_LIMIT)


@router.get("/access-log")
async def access_log(request: Request, api: ApiDep) -> Response:
    """Who searched and exported what, and when, newest first (L4): the archivist's and
    the registrar's. `until` is a day in Swedish time (that whole day included); the next
    page goes on from the last entry's time (`before`, as the API pages)."""
    until = request.query_params.get("until", "").strip()
    limit = request.query_params.get("limit", "").strip() or str(ACCESS_PAGE)
    before = request.query_params.get("before", "").strip()
    params = {"limit": limit}
    if before:
        params["before"] = before
    elif until:
        params["before"] = _day_start(until, 1)
    entries: list[dict[str, Any]] = []
    errors: dict[str, list[FieldError]] = {}
    status = 200
    try:
        entries = await _json(api, "GET", "/access-log", params=params)
    except ApiError as exc:
        if exc.status != 422:
            raise
        # The API names its query parameters (`query.before`); the form's fields differ.
        named = {"query.before": "until", "query.limit": "limit"}
        errors = by_field(
            [FieldError(named.get(e.field, e.field), e.rule, e.sv, e.en) for e in exc.errors]
        ) or {"until": [FieldError("until", "", exc.detail, exc.detail)]}
        status = 422
    next_url = None
    if entries and str(len(entries)) == limit:
        kept = {k: v for k, v in {"until": until, "limit": limit}.items() if v}
        next_url = "/archive/access-log?" + urlencode(kept | {"before": entries[-1]["at"]})
    return render(
        request,
        "archive/access_log.html",
        status_code=status,
        user=api.user.principal,
        entries=entries,
        values={"until": until, "limit": limit},
        errors=errors,
        next_url=next_url,
        paged=bool(before),
    )

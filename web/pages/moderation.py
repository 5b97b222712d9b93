"""Moderation: the queue of cases by deadline with the time left (B1 item 7, P5.3),
escalations marked (P5.8), a case with its comment in context (post, thread, author kind)
and why it was flagged (category, rules, evidence), and the moderation API's decisions
(P5.2–P5.4, P5.9, P5.10, P6), each one keystroke and one button.

Every page reads and writes through the moderation API (services/moderation/api.py)
with the person's token; its rule-coded refusals are shown beside the field they name.
"""

import uuid
from datetime import UTC, datetime
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from shared.events.comment import Category
from shared.principal import Principal, Role
from web.i18n import lang_of, t
from web.render import render
from web.services import Api, ApiDep, ApiError, FieldError, by_field, part

router = APIRouter()

# The moderation API's MODERATORS: who may claim and decide (the others may read).
MODERATORS = frozenset({Role.COMMUNICATOR, Role.ADMINISTRATOR, Role.INFORMATION_OFFICER})
# The API's Resolution, each with its key (digits: the same in Swedish and English).
DECISIONS = (
    ("remove", "1"),
    ("hide", "2"),
    ("keep", "3"),
    ("answer", "4"),
    ("forward", "5"),
    ("correct", "6"),
)
RESOLUTIONS = frozenset(r for r, _ in DECISIONS)
# The events' contract, in the policy's order: one list of categories, never a copy.
CATEGORIES: tuple[str, ...] = get_args(Category)
# A category goes with a removal or hiding only (P6): it is sent for those alone.
NEEDS_CATEGORY = frozenset({"remove", "hide"})
DONE = {
    "decided": "mod.done.decided",
    "claimed": "mod.done.claimed",
    "by_hand": "mod.done.by_hand",
}
FORM_FIELDS = ("category", "reason", "reply", "forward_to.name", "forward_to.email")


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _span(seconds: float) -> str:
    """A duration as staff read it at a glance: days and hours, or hours and minutes."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def _now() -> datetime:
    """The time the queue's time left is counted from (a test sets it)."""
    return datetime.now(UTC)


def time_left(due: object, now: datetime, lang: Any) -> tuple[str, bool]:
    """The time left to a case's deadline, and whether it has passed (B1 item 7, P5.3)."""
    moment = _moment(due)
    if moment is None:
        return "", False
    seconds = (moment - now).total_seconds()
    if seconds < 0:
        return t("mod.overdue", lang, time=_span(-seconds)), True
    return t("mod.left", lang, time=_span(seconds)), False


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def may_decide(user: Principal) -> bool:
    return bool(MODERATORS & user.roles)


@router.get("/moderation")
async def queue(request: Request, api: ApiDep, mine: str = "") -> Response:
    """Open and claimed cases, the nearest deadline first, each with its time left;
    escalated ones marked in words and by look (P5.8)."""
    params: dict[str, Any] = {"limit": 100}
    if mine:
        params["mine"] = "true"
    answer = await api.call("moderation", "GET", "/cases", params=params)
    cases: list[dict[str, Any]] = answer.json()
    # The API sorts by deadline already; sorted here too, so the page never depends on it.
    cases.sort(key=lambda c: _moment(c.get("due")) or datetime.max.replace(tzinfo=UTC))
    now, lang = _now(), lang_of(request)
    rows = []
    for case in cases:
        left, overdue = time_left(case.get("due"), now, lang)
        rows.append({"case": case, "left": left, "overdue": overdue})
    return render(
        request,
        "moderation/queue.html",
        user=api.user.principal,
        rows=rows,
        mine=bool(mine),
        escalated=sum(1 for c in cases if c.get("escalated")),
    )


def _context(case: dict[str, Any], comments: list[dict[str, Any]]) -> dict[str, Any]:
    """The comment among the account's newest: its post and the thread under that post,
    oldest first."""
    comment = next((c for c in comments if c.get("id") == case["id"]), None)
    post_id = str(comment.get("post_id") or "") if comment else ""
    post = None
    thread: list[dict[str, Any]] = []
    if post_id:
        post = next(
            (c for c in comments if c.get("kind") == "post" and c.get("platform_id") == post_id),
            None,
        )
        thread = [c for c in comments if c.get("kind") == "comment" and c.get("post_id") == post_id]
        thread.sort(key=lambda c: str(c.get("created_at", "")))
    return {"comment": comment, "post": post, "post_id": post_id, "thread": thread}


async def _comments(api: Api, account_id: str) -> list[dict[str, Any]] | None:
    """The account's newest comments; None if the API will not give them (the case page
    still shows the case)."""
    try:
        answer = await api.call(
            "moderation", "GET", f"/accounts/{part(account_id)}/comments", params={"limit": 100}
        )
    except ApiError:
        return None
    found: list[dict[str, Any]] = answer.json()
    return found


def _suggested_reason(case: dict[str, Any], lang: Any) -> str:
    """The flag's reading as the reason's first draft, so that one keystroke can decide;
    the moderator changes it when they decide otherwise."""
    category = t(f"cat.{case.get('category', '')}", lang)
    rules = ", ".join(case.get("rules") or [])
    return f"{category} ({rules})" if rules else category


async def _case_page(
    request: Request,
    api: ApiDep,
    case_id: str,
    errors: dict[str, list[FieldError]] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    case: dict[str, Any] = (await api.call("moderation", "GET", f"/cases/{part(case_id)}")).json()
    comments = await _comments(api, case["account_id"])
    lang = lang_of(request)
    left, overdue = time_left(case.get("due"), _now(), lang)
    shown = dict(values or {})
    shown.setdefault("category", str(case.get("category", "")))
    shown.setdefault("reason", _suggested_reason(case, lang))
    return render(
        request,
        "moderation/case.html",
        status_code=status,
        user=api.user.principal,
        case=case,
        context=_context(case, comments) if comments is not None else None,
        left=left,
        overdue=overdue,
        decisions=DECISIONS,
        categories=CATEGORIES,
        may_decide=may_decide(api.user.principal),
        waiting=case.get("state") in ("open", "claimed"),
        errors=errors or {},
        values=shown,
        done=DONE.get(request.query_params.get("done", ""), ""),
        key=str(uuid.uuid4()),
    )


@router.get("/moderation/{case_id}")
async def case_page(request: Request, api: ApiDep, case_id: str) -> Response:
    """A case: the comment in its context, why it was flagged, its deadline, its trail,
    and the decisions."""
    return await _case_page(request, api, case_id)


def _refusal(exc: ApiError) -> dict[str, list[FieldError]]:
    """The API's refusal by field. The platform's (a 502 that says why: Meta refused the
    hide, with its reason; the case stays undecided, README "The platform") is shown
    beside the decision buttons; a refusal without rules is said in its own words."""
    errors = exc.errors or [FieldError("resolution", "", exc.detail, exc.detail)]
    found = by_field(errors)
    if "platform" in found:
        found.setdefault("resolution", []).extend(found.pop("platform"))
    return found


@router.post("/moderation/{case_id}/decision")
async def decide(request: Request, api: ApiDep, case_id: str) -> Response:
    """One decision (P5.2–P5.4, P5.9, P5.10, P6): the resolution is the button pressed
    (or its key); the API's rules are the only ones, its refusals shown beside the field."""
    form = await request.form()
    values = {name: _text(form, name) for name in FORM_FIELDS}
    resolution = _text(form, "resolution")
    body: dict[str, Any] = {"resolution": resolution, "reason": values["reason"]}
    if resolution in NEEDS_CATEGORY and values["category"]:
        body["category"] = values["category"]
    if values["reply"]:
        body["reply"] = values["reply"]
    if values["forward_to.name"] or values["forward_to.email"]:
        body["forward_to"] = {
            "name": values["forward_to.name"],
            "email": values["forward_to.email"],
        }
    key = _text(form, "key") or None
    try:
        await api.call("moderation", "POST", f"/cases/{part(case_id)}/decision", json=body, key=key)
    except ApiError as exc:
        if not exc.errors and exc.status != 502:
            raise
        return await _case_page(request, api, case_id, _refusal(exc), values, exc.status)
    return RedirectResponse(f"/moderation/{part(case_id)}?done=decided", status_code=303)


@router.post("/moderation/{case_id}/claim")
async def claim(request: Request, api: ApiDep, case_id: str) -> Response:
    """Take the case: it is this moderator's until decided (P5.1)."""
    try:
        await api.call("moderation", "POST", f"/cases/{part(case_id)}/claim")
    except ApiError as exc:
        if not exc.errors:
            raise
        return await _case_page(request, api, case_id, by_field(exc.errors), {}, exc.status)
    return RedirectResponse(f"/moderation/{part(case_id)}?done=claimed", status_code=303)


@router.post("/moderation/{case_id}/done-by-hand")
async def done_by_hand(request: Request, api: ApiDep, case_id: str) -> Response:
    """What no connector could do was done on the platform by hand (README, "The
    platform"): the case closes."""
    form = await request.form()
    note = _text(form, "note")
    try:
        await api.call(
            "moderation", "POST", f"/cases/{part(case_id)}/done-by-hand", json={"note": note}
        )
    except ApiError as exc:
        if not exc.errors:
            raise
        errors = by_field(exc.errors)
        return await _case_page(request, api, case_id, errors, {"note": note}, exc.status)
    return RedirectResponse(f"/moderation/{part(case_id)}?done=by_hand", status_code=303)

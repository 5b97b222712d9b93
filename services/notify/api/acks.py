"""Acknowledging an escalation by its signed link, no login needed (P5.6, P5.8), and the
escalations' list for staff.

`GET /acknowledge/{token}` only shows what the link acknowledges, with a button: mail
scanners and link previews fetch links, and must not acknowledge. `POST` acknowledges;
the token is the authority. Pages are in Swedish with English below; a client asking
for `application/json` gets JSON. A malformed, forged or expired link is a 4xx naming the
field `token` and the rule, as a page or as JSON.
"""

from datetime import datetime
from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

from services.notify.domain.acks import Escalation
from services.notify.handlers import acks
from services.notify.store import NotifyStore
from services.notify.store.escalations import PAGE_LIMIT
from shared.auth import require
from shared.clock import SWEDEN
from shared.http import PAGED, DepsDep, link_next, problem_response, violations_response
from shared.principal import Principal, Role
from shared.rules import RuleViolations, Violation
from shared.service import Dependencies, Deployment
from shared.unit_of_work import NotFound

router = APIRouter(tags=["acknowledgements"])

# Acknowledge routes answer a page, or JSON to a client that asks for it; a bad link is
# a page too, or a Problem to a client asking for JSON.
LINK: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}},
    403: problem_response(403, "The link's signature does not match (`token`, P5.6)."),
    404: problem_response(404, "The escalation the link is for does not exist here."),
    410: problem_response(410, "The link has expired (`token`, P5.6); it says when."),
    409: problem_response(409),
    422: problem_response(422, "Not a link Kanalvakt makes (`token`, P5.6)."),
    503: problem_response(503),
}

Deps = Annotated[Dependencies[NotifyStore], DepsDep]
# Who follows escalations: the informationsansvarig, operations, the säkerhetssamordnare.
READERS = (Role.INFORMATION_OFFICER, Role.OPERATIONS, Role.SECURITY_COORDINATOR)
Reader = Annotated[Principal, require(*READERS)]

State = Literal["open", "last_level", "acknowledged"]

# What staff read an escalation as; other event types by their name.
_KIND: dict[str, tuple[str, str]] = {
    "account.unattended": ("Konto utan bemanning", "Unattended account"),
    "moderation.escalated": ("Eskalerat ärende", "Escalated case"),
}


class PersonView(BaseModel):
    name: str
    email: str
    why: str


class EscalationView(BaseModel):
    """An escalation and where it stands: `open` (the next level is told at
    `next_level_at`), `last_level` (every level told, nobody acknowledged yet),
    `acknowledged`."""

    id: str
    event_id: str
    event_type: str
    about: str
    urgent: bool
    opened_at: datetime
    state: State
    level: int
    levels: list[list[PersonView]]
    next_level_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str

    @classmethod
    def of(cls, e: Escalation) -> "EscalationView":
        return cls(
            id=e.id,
            event_id=e.event_id,
            event_type=e.event_type,
            about=e.about,
            urgent=e.urgent,
            opened_at=e.opened_at,
            state=_state(e),
            level=e.level,
            levels=[
                [PersonView(name=p.name, email=p.email, why=p.why) for p in lv] for lv in e.levels
            ],
            next_level_at=e.next_level_at,
            acknowledged_at=e.acknowledged_at,
            acknowledged_by=e.acknowledged_by,
        )


class LinkView(BaseModel):
    """What the holder of an acknowledge link sees of its escalation: what it is about,
    where it stands, when it was acknowledged and whether by this link, and the address
    the link was issued to. Not who else it tells or told, nor their addresses: those
    are for staff (GET /escalations), and a link may be forwarded."""

    event_type: str
    about: str
    opened_at: datetime
    state: State
    acknowledged_at: datetime | None
    acknowledged_by_this_link: bool
    issued_to: str

    @classmethod
    def of(cls, e: Escalation, email: str) -> "LinkView":
        return cls(
            event_type=e.event_type,
            about=e.about,
            opened_at=e.opened_at,
            state=_state(e),
            acknowledged_at=e.acknowledged_at,
            acknowledged_by_this_link=_by(e, email),
            issued_to=email,
        )


class Acknowledged(BaseModel):
    """The answer to acknowledging: `by_this_link` false when someone was first."""

    by_this_link: bool
    escalation: LinkView


def _state(e: Escalation) -> State:
    if e.acknowledged:
        return "acknowledged"
    return "open" if e.next_level_at is not None else "last_level"


def _by(e: Escalation, email: str) -> bool:
    return e.acknowledged and e.acknowledged_by.lower() == email.lower()


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _deployment(request: Request) -> Deployment[NotifyStore]:
    deployment: Deployment[NotifyStore] = request.app.state.deployment
    return deployment


def _when(at: datetime) -> str:
    return at.astimezone(SWEDEN).strftime("%Y-%m-%d %H:%M")


def _page(title: str, sv: str, en: str, status: int = 200) -> HTMLResponse:
    body = (
        '<!doctype html>\n<html lang="sv"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem}"
        "button{font-size:1.1rem;padding:.5rem 1.5rem}section[lang=en]{margin-top:2rem;"
        "border-top:1px solid #767676;padding-top:1rem}</style></head>"
        f'<body><main><section lang="sv">{sv}</section><section lang="en">{en}</section>'
        "</main></body></html>\n"
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _what(e: Escalation) -> tuple[str, str]:
    kind_sv, kind_en = _KIND.get(e.event_type, (e.event_type, e.event_type))
    about = escape(e.about)
    return (
        f"{escape(kind_sv)}: <strong>{about}</strong>",
        f"{escape(kind_en)}: <strong>{about}</strong>",
    )


def _done(e: Escalation, email: str) -> tuple[str, str]:
    """When it was acknowledged, and whether by this link's holder: not by whom else
    (the link's holder learns no other recipient's address)."""
    assert e.acknowledged_at is not None
    at = _when(e.acknowledged_at)
    if _by(e, email):
        you = escape(email)
        return (
            f"<p>Kvitterat av dig ({you}) {at}. Nästa nivå meddelas inte.</p>",
            f"<p>Acknowledged by you ({you}) at {at} (Swedish time). The next level is "
            "not told.</p>",
        )
    return (
        f"<p>Kvitterat {at} av någon annan som larmet gick till. Nästa nivå meddelas inte.</p>",
        f"<p>Acknowledged at {at} (Swedish time) by someone else it was sent to. The next "
        "level is not told.</p>",
    )


def _refused(request: Request, violations: list[Violation], status: int) -> Response:
    if _wants_json(request):
        return violations_response(violations, status)
    sv = "".join(
        f"<p>{escape(v.sv)} <small>({escape(v.field)}, {v.rule})</small></p>" for v in violations
    )
    en = "".join(
        f"<p>{escape(v.en)} <small>({escape(v.field)}, {v.rule})</small></p>" for v in violations
    )
    return _page(
        "Länken fungerar inte",
        f"<h1>Länken fungerar inte</h1>{sv}",
        f"<h1>The link does not work</h1>{en}",
        status,
    )


def _unknown(request: Request, exc: NotFound) -> Response:
    if _wants_json(request):
        raise exc
    return _refused(
        request,
        [
            Violation(
                "token",
                "P5.6",
                "Larmet som länken gäller finns inte (längre) här.",
                "the escalation this link is for does not exist here (any more)",
            )
        ],
        404,
    )


@router.get(
    "/acknowledge/{token}",
    response_model=LinkView,
    responses=LINK,
)
async def acknowledge_page(request: Request, token: str) -> Response:
    """What the link acknowledges, with a button that acknowledges (POST). Showing it
    acknowledges nothing: mail scanners fetch links (P5.6, P5.8)."""
    deployment = _deployment(request)
    try:
        deps = await acks.kommun_of(deployment, token)
        escalation, email = await acks.escalation(deps, token)
    except RuleViolations as exc:
        return _refused(request, exc.violations, exc.status)
    except NotFound as exc:
        return _unknown(request, exc)
    if _wants_json(request):
        return JSONResponse(LinkView.of(escalation, email).model_dump(mode="json"))
    what_sv, what_en = _what(escalation)
    opened = _when(escalation.opened_at)
    you = escape(email)
    if escalation.acknowledged:
        action_sv, action_en = _done(escalation, email)
    else:
        action_sv = (
            '<form method="post"><button type="submit">Kvittera</button></form>'
            "<p>När du kvitterar vet övriga att du tar hand om det, och nästa nivå "
            "meddelas inte.</p>"
        )
        action_en = (
            '<form method="post"><button type="submit" lang="en">Acknowledge</button></form>'
            "<p>Acknowledging tells the others you are handling it; the next level is not "
            "told.</p>"
        )
    return _page(
        "Kvittera larm",
        f"<h1>Kvittera larm</h1><p>{what_sv}</p><p>Larmet kom {opened}. Länken är "
        f"utfärdad till {you}.</p>{action_sv}",
        f"<h1>Acknowledge an alert</h1><p>{what_en}</p><p>Raised at {opened} (Swedish "
        f"time). The link was issued to {you}.</p>{action_en}",
    )


@router.post(
    "/acknowledge/{token}",
    response_model=Acknowledged,
    responses=LINK,
)
async def acknowledge(request: Request, token: str) -> Response:
    """Acknowledge: the first acknowledgement wins and stops the ladder (P5.6, P5.8);
    a later one changes nothing and names who was first. No login: the token is the
    authority."""
    deployment = _deployment(request)
    try:
        deps = await acks.kommun_of(deployment, token)
        _, email = await acks.escalation(deps, token)
        escalation = await acks.acknowledge(deps, token)
    except RuleViolations as exc:
        return _refused(request, exc.violations, exc.status)
    except NotFound as exc:
        return _unknown(request, exc)
    mine = _by(escalation, email)
    if _wants_json(request):
        answer = Acknowledged(by_this_link=mine, escalation=LinkView.of(escalation, email))
        return JSONResponse(answer.model_dump(mode="json"))
    what_sv, what_en = _what(escalation)
    done_sv, done_en = _done(escalation, email)
    head_sv = "Tack, larmet är kvitterat" if mine else "Larmet var redan kvitterat"
    head_en = "Thank you: acknowledged" if mine else "Already acknowledged"
    return _page(
        head_sv,
        f"<h1>{head_sv}</h1><p>{what_sv}</p>{done_sv}",
        f"<h1>{head_en}</h1><p>{what_en}</p>{done_en}",
    )


Before = Annotated[
    str | None, Query(description="Cursor: the `before` of the previous page's next link.")
]
Limit = Annotated[int, Query(ge=1, le=PAGE_LIMIT, description="Escalations on a page.")]


@router.get("/escalations", responses=PAGED)
async def list_escalations(
    request: Request,
    response: Response,
    deps: Deps,
    _: Reader,
    open: Annotated[
        bool, Query(description="Only those nobody has acknowledged yet (P5.6, P5.8).")
    ] = False,
    before: Before = None,
    limit: Limit = 100,
) -> list[EscalationView]:
    """Escalations newest first, with who each level tells and where each stands."""
    page = await deps.store.escalations.listed(open_only=open, before=before, limit=limit)
    if page:
        link_next(request, response, len(page) == limit, before=page[-1].id, limit=limit)
    return [EscalationView.of(e) for e in page]

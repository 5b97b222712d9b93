"""Acknowledging an escalation from the link in its message (P5.6, P5.8).

The link is `{links_base_url}/acknowledge/{token}` (services/notify/domain/messages.py);
served here, it shows what the link acknowledges and a button. Opening the page
acknowledges nothing (mail scanners fetch links); the button (a POST with the CSRF
token) does. No sign-in: the token is the authority, exactly as notify's own
`/acknowledge/{token}` (services/notify/api/acks.py), which both calls go to with
`Accept: application/json`. A malformed, forged, expired or unknown link is a readable
page naming the rule, with the API's status kept (422, 403, 410, 404).
"""

from typing import Any, Literal

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.i18n import t
from web.render import render
from web.services import ApiError, ApiUnavailable, FieldError, part, raise_for
from web.session import optional_user, return_to

router = APIRouter()

# The link's state as notify names it (services/notify/api/acks.py, State).
STATES = ("open", "last_level", "acknowledged")
# The kinds of escalation staff read by name; others show their event type.
KINDS = ("account.unattended", "moderation.escalated")


async def _notify(request: Request, method: str, token: str) -> dict[str, Any]:
    client: httpx.AsyncClient = request.app.state.http
    base = request.app.state.web_settings.notify_url.rstrip("/")
    try:
        answer = await client.request(
            method, f"{base}/acknowledge/{part(token)}", headers={"Accept": "application/json"}
        )
    except httpx.HTTPError as exc:
        raise ApiUnavailable("notify", type(exc).__name__) from None
    # As every other call: only a 503, or a proxy's 502/504, is notify being away.
    result: dict[str, Any] = raise_for("notify", answer, return_to(request)).json()
    return result


def _refused(request: Request, exc: ApiError, user: Any) -> Response:
    """The link does not work: why, in the person's language, with the rule (P5.6)."""
    errors = [e for e in exc.errors if e.field == "token"]
    if not errors and exc.status == 404:
        # notify's 404 carries no rule of its own: the escalation is not (any more) there.
        errors = [FieldError("token", "P5.6", t("ack.unknown", "sv"), t("ack.unknown", "en"))]
    elif not errors:
        # Anything else (a 502 that says why) in notify's own words, not as "unknown".
        errors = [FieldError("token", "", exc.detail, exc.detail)]
    return render(
        request,
        "notifications/refused.html",
        status_code=exc.status,
        user=user,
        link_errors=errors,
        status=exc.status,
    )


@router.get("/acknowledge/{token}")
async def acknowledge_page(request: Request, token: str) -> Response:
    """What the link acknowledges and where it stands; a button if it is still open."""
    return await _link_page(request, token, "GET")


@router.post("/acknowledge/{token}")
async def acknowledge(request: Request, token: str) -> Response:
    """Acknowledge: the first acknowledgement stops the ladder (P5.6, P5.8); a later
    one changes nothing and the page says someone was first."""
    return await _link_page(request, token, "POST")


async def _link_page(request: Request, token: str, method: Literal["GET", "POST"]) -> Response:
    user = await optional_user(request)
    principal = user.principal if user else None
    try:
        answer = await _notify(request, method, token)
    except ApiError as exc:
        return _refused(request, exc, principal)
    # GET answers the escalation; POST the escalation and whether this link was first.
    link, mine = answer, None
    if method == "POST":
        link, mine = answer["escalation"], bool(answer["by_this_link"])
    return render(
        request,
        "notifications/acknowledge.html",
        user=principal,
        link=link,
        token=token,
        kinds=KINDS,
        mine=mine,
    )

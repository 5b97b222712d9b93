"""The services' HTTP APIs, called with the signed-in person's own token.

The web part has no database and no bus: everything it shows comes from here, and
every change goes through the API that owns it, so the APIs' rules and permissions hold
for the web exactly as for the CLI. An API's refusal becomes an ApiError that a page
shows in words: the rule-coded violations (field, rule ID, Swedish and English) beside
their fields, anything else as a message.
"""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Depends, Request

from web.session import CurrentUser, SignInRequired, User, return_to
from web.settings import WebSettings

# A list page's `Link: <…?after=X&limit=N>; rel="next"` (shared.http.link_next).
NEXT_AFTER = re.compile(r"[?&]after=([^&>]+)")


def part(value: str) -> str:
    """An id in an API path, escaped: an id from a URL (`a%3Fb` arrives as `a?b`) never
    adds a query, a fragment or path segments to the API call."""
    return quote(value, safe="")


@dataclass(frozen=True)
class FieldError:
    """One broken rule, as the API names it (shared.rules.Violation)."""

    field: str
    rule: str
    sv: str
    en: str

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.sv


@dataclass
class ApiError(Exception):
    """The API refused: its status, its `detail`, and every rule it named."""

    status: int
    detail: str
    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status}: {self.detail}"

    def by_field(self) -> dict[str, list[FieldError]]:
        return by_field(self.errors)


def by_field(errors: list[FieldError]) -> dict[str, list[FieldError]]:
    """Errors by the field they name, each field's in the API's order: what a form's
    fields and its error summary show (web/templates/_macros.html)."""
    found: dict[str, list[FieldError]] = {}
    for error in errors:
        found.setdefault(error.field, []).append(error)
    return found


class ApiUnavailable(Exception):
    """The service did not answer (down, too slow, or a proxy's 502/503/504 without the
    API's own problem body): the page says to try again."""

    def __init__(self, service: str, why: str) -> None:
        super().__init__(f"{service}: {why}")
        self.service = service


def error_of(answer: httpx.Response) -> ApiError:
    try:
        body = answer.json()
    except ValueError:
        return ApiError(answer.status_code, answer.text[:500] or answer.reason_phrase)
    if not isinstance(body, dict):
        return ApiError(answer.status_code, str(body)[:500])
    errors = []
    for item in body.get("errors") or []:
        message = item.get("message") or {}
        errors.append(
            FieldError(
                str(item.get("field", "")),
                str(item.get("rule", "")),
                str(message.get("sv", "")),
                str(message.get("en", "")),
            )
        )
    detail = body.get("detail", "")
    return ApiError(answer.status_code, detail if isinstance(detail, str) else str(detail), errors)


def _is_problem(answer: httpx.Response) -> bool:
    """The API's own error body (shared.http.Problem: a JSON object with a `detail`), as
    opposed to a proxy's or load balancer's page."""
    if "json" not in answer.headers.get("content-type", ""):
        return False
    try:
        body = answer.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("detail"), str)


def raise_for(service: str, answer: httpx.Response, here: str) -> httpx.Response:
    """An API's answer, or why not: 401 (the token expired) signs in again and comes back
    to `here`; a 503, or a 502/504 without a problem body, is the service being away
    (ApiUnavailable); any other error, a 502 that says why included (moderation: the
    platform refused, with its reason, README "The platform"), is an ApiError."""
    status = answer.status_code
    if status == 401:
        raise SignInRequired(here)
    # 503 is the APIs' own "try again" (the store is away; Retry-After) whatever its body.
    if status == 503 or (status in (502, 504) and not _is_problem(answer)):
        raise ApiUnavailable(service, f"HTTP {status}")
    if status >= 400:
        raise error_of(answer)
    return answer


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_after: str | None  # the cursor of the next page, if there is one


class Api:
    """One per request: the person's token on every call."""

    def __init__(
        self, client: httpx.AsyncClient, settings: WebSettings, user: User, here: str = "/"
    ) -> None:
        self._client = client
        self.user = user
        self.here = here  # where signing in again comes back to (session.return_to)
        self._urls = {
            "registry": settings.registry_url.rstrip("/"),
            "moderation": settings.moderation_url.rstrip("/"),
            "archive": settings.archive_url.rstrip("/"),
            "notify": settings.notify_url.rstrip("/"),
        }

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.user.token}", "Accept": "application/json"}
        if method != "GET":
            # A retried submit (a double click, a reload) is the same request (README,
            # "Delivery guarantees": Idempotency-Key).
            headers["Idempotency-Key"] = key or str(uuid.uuid4())
        try:
            answer = await self._client.request(
                method, self._urls[service] + path, json=json, params=params, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ApiUnavailable(service, type(exc).__name__) from None
        return raise_for(service, answer, self.here)

    # The registry (services/registry/api.py)

    async def accounts(self, filters: Mapping[str, Any], after: str | None = None) -> Page:
        params = {k: v for k, v in filters.items() if v}
        if after:
            params["after"] = after
        answer = await self.call("registry", "GET", "/accounts", params=params)
        found = NEXT_AFTER.search(answer.headers.get("link", ""))
        return Page(answer.json(), found.group(1) if found else None)

    async def account(self, account_id: str) -> dict[str, Any]:
        answer = await self.call("registry", "GET", f"/accounts/{part(account_id)}")
        result: dict[str, Any] = answer.json()
        return result

    async def _write(
        self, method: str, path: str, body: Any = None, key: str | None = None
    ) -> dict[str, Any]:
        answer = await self.call("registry", method, path, json=body, key=key)
        result: dict[str, Any] = answer.json()
        return result

    async def submit_plan(self, plan: dict[str, Any], key: str | None) -> dict[str, Any]:
        return await self._write("POST", "/accounts", plan, key)

    async def sign(self, account_id: str, role: str, key: str | None) -> dict[str, Any]:
        return await self._write(
            "POST", f"/accounts/{part(account_id)}/signatures", {"role": role}, key
        )

    async def deposit_credentials(
        self, account_id: str, location: str, deposited_at: str, key: str | None
    ) -> dict[str, Any]:
        body = {"location": location, "deposited_at": deposited_at}
        return await self._write("PUT", f"/accounts/{part(account_id)}/credentials", body, key)

    async def confirm_profile(
        self, account_id: str, checklist: dict[str, bool], key: str | None
    ) -> dict[str, Any]:
        return await self._write("PUT", f"/accounts/{part(account_id)}/profile", checklist, key)

    async def absences(self) -> list[dict[str, Any]]:
        answer = await self.call("registry", "GET", "/absences")
        result: list[dict[str, Any]] = answer.json()
        return result

    async def register_absence(self, body: dict[str, Any], key: str | None) -> dict[str, Any]:
        return await self._write("POST", "/absences", body, key)


async def _api(request: Request, user: CurrentUser) -> Api:
    return Api(request.app.state.http, request.app.state.web_settings, user, return_to(request))


# A page's API client, for the signed-in person: `api: ApiDep`.
ApiDep = Annotated[Api, Depends(_api)]

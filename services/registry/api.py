"""The registry's HTTP API: request → use case (services.registry.handlers) → answer;
errors as 4xx naming the field and the rule. The public list needs no login (P10.8).

Staff routes read and write the kommun their token names only (shared.http.DepsDep):
another kommun's account is a 404. The public list is per kommun: `/public/{kommun}/…`
on any host, `/public/…` for the kommun the host serves (or the default).

Writes take an `Idempotency-Key` header: a client that retries after a 503 or a lost
answer gets the first result, never a second account or a 409 for its own plan.
Lists come in pages by account id; a `Link: <…>; rel="next"` header says there is more.
"""

from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Query, Request, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.registry import handlers
from services.registry.domain import account as accounts
from services.registry.domain.absence import Absence
from services.registry.domain.account import PROFILE_ITEMS, Account, SignRole, State
from services.registry.register import export_csv, export_row, public_entry, public_page
from services.registry.store import PAGE_LIMIT, RegistryStore
from shared.auth import require
from shared.events import PersonRef
from shared.http import PAGED, DepsDep, HostDepsDep, PublicDepsDep, RequestKey, link_next, problems
from shared.kommun import Language
from shared.principal import Principal, Role
from shared.rules import rule_error
from shared.service import Dependencies
from shared.unit_of_work import NotFound

Deps = Annotated[Dependencies[RegistryStore], DepsDep]
# Anyone's, for one kommun: by the path, or by the host.
PublicDeps = Annotated[Dependencies[RegistryStore], PublicDepsDep]
HostDeps = Annotated[Dependencies[RegistryStore], HostDepsDep]

EDITORS = (Role.COMMUNICATOR, Role.ADMINISTRATOR, Role.INFORMATION_OFFICER)
MANAGERS = (Role.ADMINISTRATOR, Role.INFORMATION_OFFICER, Role.DEPARTMENT_HEAD, Role.UNIT_HEAD)
Editor = Annotated[Principal, require(*EDITORS)]
Manager = Annotated[Principal, require(*MANAGERS)]
# Every staff role may read the register (P10.1) and sign in the role it holds; a
# connector (a system delivering comments) is no staff.
Staff = Annotated[Principal, require(*(r for r in Role if r is not Role.CONNECTOR))]

# The plan's schema is documented as the component ActivityPlan (see AccountView.plan);
# the body is validated by parse_plan, which knows the kommun (P4.2, P10.1).
PLAN_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ActivityPlan"}}},
    }
}
Limit = Annotated[int, Query(ge=1, le=PAGE_LIMIT, description="Accounts on a page.")]
After = Annotated[
    str | None, Query(description="Cursor: the `after` of the previous page's next link.")
]

router = APIRouter()
staff = APIRouter(prefix="/accounts", tags=["accounts"])
people = APIRouter(prefix="/absences", tags=["absences"])
public = APIRouter(prefix="/public", tags=["public"])


def _link_next(request: Request, response: Response, page: list[Account], limit: int) -> None:
    if page:
        link_next(request, response, len(page) == limit, after=page[-1].id, limit=limit)


async def _every(store: RegistryStore, **query: Any) -> AsyncIterator[Account]:
    """The whole register, page by page: exports and the public page list all."""
    after = None
    while page := await store.find(**query, after=after):
        for account in page:
            yield account
        after = page[-1].id


@staff.post(
    "", status_code=status.HTTP_201_CREATED, openapi_extra=PLAN_BODY, responses=problems(409)
)
async def create_account(
    deps: Deps,
    by: Editor,
    plan: Annotated[dict[str, Any], Body()],
    key: RequestKey,
    draft: bool = False,
) -> Account:
    """Submit an activity plan (P3.6, B1), or save it as a draft; submitting publishes
    `account.created`. Every failing field is answered at once with its rule."""
    return await handlers.submit_plan(deps, plan, by, draft=draft, key=key)


@staff.get("", responses=PAGED)
async def list_accounts(
    request: Request,
    response: Response,
    deps: Deps,
    _: Staff,
    department: str | None = None,
    platform: str | None = None,
    state: Annotated[list[State] | None, Query()] = None,
    after: After = None,
    limit: Limit = 100,
) -> list[Account]:
    """The register (P10.1), by department, platform and state, a page at a time."""
    page = await deps.store.find(department, platform, state or (), after, limit)
    _link_next(request, response, page, limit)
    return page


@staff.get(
    "/export",
    response_class=Response,
    responses={
        200: {
            "description": "The register as CSV (default) or JSON.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {"type": "array", "items": {"type": "object"}},
                },
            },
        }
    },
)
async def export_register(
    deps: Deps, _: Staff, format: Literal["csv", "json"] = "csv", department: str | None = None
) -> Response:
    """The department's or the whole kommun's register (P10.1), as CSV or JSON."""
    found = [a async for a in _every(deps.store, department=department)]
    name = f"konton-{deps.kommun.id}-{department or 'alla'}".replace(" ", "-")
    # RFC 6266: an ASCII name for old clients, the real one (å, ä, ö, –) in UTF-8.
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    disposition = {
        "Content-Disposition": f'attachment; filename="{ascii_name}.{format}"; '
        f"filename*=UTF-8''{quote(name)}.{format}"
    }
    if format == "json":
        return JSONResponse([export_row(a) for a in found], headers=disposition)
    return Response(export_csv(found), media_type="text/csv; charset=utf-8", headers=disposition)


@staff.get("/{account_id}", responses=problems(404))
async def get_account(account_id: str, deps: Deps, _: Staff) -> Account:
    found = await deps.store.accounts.get(account_id)
    if found is None:
        raise NotFound("account_id", account_id)
    return found.item


@staff.put("/{account_id}/plan", openapi_extra=PLAN_BODY, responses=problems(404, 409))
async def amend_plan(
    account_id: str,
    deps: Deps,
    by: Editor,
    plan: Annotated[dict[str, Any], Body()],
    key: RequestKey,
) -> Account:
    """Amend the plan; new administrators, department or purpose need all four sign-offs
    again (P3.6). Publishes `account.updated`."""
    return await handlers.amend_plan(deps, account_id, plan, by, key=key)


@staff.post("/{account_id}/submit", responses=problems(404, 409))
async def submit_draft(account_id: str, deps: Deps, by: Editor, key: RequestKey) -> Account:
    return await handlers.change_account(deps, account_id, partial(accounts.submit, by=by), key=key)


class SignOff(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: SignRole = Field(description="Which of the four sign-offs of B1 this is.")


@staff.post("/{account_id}/signatures", responses=problems(404, 409))
async def sign(account_id: str, body: SignOff, deps: Deps, by: Staff, key: RequestKey) -> Account:
    """Sign the plan in one of the four roles of B1, as yourself (P2.1, P3.6); the fourth
    approves it (`account.approved`)."""
    return await handlers.change_account(
        deps, account_id, partial(accounts.sign, role=body.role, by=by), key=key
    )


class Credentials(BaseModel):
    """P3.5: where the credentials are kept and since when. Never the password."""

    model_config = ConfigDict(extra="forbid")
    location: str = Field(min_length=3, max_length=500, description="e.g. the central safe")
    deposited_at: AwareDatetime

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        if isinstance(data, dict) and {"password", "lösenord", "secret"} & set(data):
            raise rule_error(
                "P3.5",
                "Lösenordet lämnas aldrig här: ange bara var uppgifterna förvaras och när.",
                "never send the password: give only where the credentials are kept and when",
            )
        return data


@staff.put("/{account_id}/credentials", responses=problems(404, 409))
async def deposit_credentials(
    account_id: str, body: Credentials, deps: Deps, by: Staff, key: RequestKey
) -> Account:
    """The informationsansvarig records the deposit of credentials (P3.5)."""

    def step(account: Account, at: Any) -> Any:
        return accounts.deposit_credentials(account, body.location, body.deposited_at, by, at)

    return await handlers.change_account(deps, account_id, step, key=key)


ProfileChecklist = Annotated[
    dict[str, bool],
    Body(description="P4.1 and P5.7 items, each true: " + ", ".join(PROFILE_ITEMS)),
]


@staff.put("/{account_id}/profile", responses=problems(404, 409))
async def confirm_profile(
    account_id: str, checklist: ProfileChecklist, deps: Deps, by: Editor, key: RequestKey
) -> Account:
    """Confirm the profile shows what P4.1 and P5.7 ask."""
    return await handlers.change_account(
        deps, account_id, partial(accounts.confirm_profile, checked=checklist, by=by), key=key
    )


class Departure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str


@staff.post("/{account_id}/departures", responses=problems(404, 409))
async def administrator_leaves(
    account_id: str, body: Departure, deps: Deps, by: Manager, key: RequestKey
) -> Account:
    """An administrator stops; fewer than two publishes `account.noncompliant` (P3.1)."""
    return await handlers.change_account(
        deps, account_id, partial(accounts.administrator_leaves, email=body.email, by=by), key=key
    )


class Closing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=2000)


@staff.post("/{account_id}/closing", responses=problems(404, 409))
async def start_closing(
    account_id: str, body: Closing, deps: Deps, by: Manager, key: RequestKey
) -> Account:
    """The unit stops using the platform (P5.5)."""
    return await handlers.change_account(
        deps, account_id, partial(accounts.start_closing, by=by, reason=body.reason), key=key
    )


@staff.post("/{account_id}/closed", responses=problems(404, 409))
async def confirm_closed(account_id: str, deps: Deps, by: Manager, key: RequestKey) -> Account:
    """The account is closed on the platform (P5.5); publishes `account.closed`."""
    return await handlers.change_account(
        deps, account_id, partial(accounts.confirm_closed, by=by), key=key
    )


class AbsenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: PersonRef
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    substitute: PersonRef | None = None


@people.post("", status_code=status.HTTP_201_CREATED)
async def register_absence(body: AbsenceIn, deps: Deps, by: Manager, key: RequestKey) -> Absence:
    """Register an absence with its substitute (P3.3, P5.1). `admin.absent` follows when
    it starts, `admin.returned` when it ends; an account left unattended is announced
    as soon as that is so (P5.6). The answer's `state` is `started` for one that has
    begun."""
    return await handlers.register_absence(
        deps, body.person, body.starts_at, body.ends_at, body.substitute, by, key=key
    )


@people.get("")
async def list_absences(deps: Deps, _: Staff) -> list[Absence]:
    """Absences not yet over."""
    return await deps.store.current_absences(deps.clock())


async def _public_list(
    request: Request, response: Response, deps: Dependencies[RegistryStore], after: Any, limit: int
) -> list[dict[str, str]]:
    page = await deps.store.find(states=[State.ACTIVE], after=after, limit=limit)
    _link_next(request, response, page, limit)
    return [public_entry(a) for a in page]


async def _public_page(deps: Dependencies[RegistryStore], lang: Language) -> str:
    active = [a async for a in _every(deps.store, states=[State.ACTIVE])]
    return public_page(active, deps.kommun, lang)


@public.get("/{kommun}/accounts", responses=PAGED)
async def public_accounts(
    request: Request, response: Response, deps: PublicDeps, after: After = None, limit: Limit = 100
) -> list[dict[str, str]]:
    """The kommun's active accounts, for anyone (P10.8, L1), a page at a time."""
    return await _public_list(request, response, deps, after, limit)


@public.get("/{kommun}/accounts.html", response_class=HTMLResponse)
async def public_accounts_page(deps: PublicDeps, lang: Language = "sv") -> str:
    """Every active account of the kommun as an accessible page to embed on its site
    (P10.8)."""
    return await _public_page(deps, lang)


@public.get("/accounts", responses=PAGED)
async def public_accounts_of_host(
    request: Request, response: Response, deps: HostDeps, after: After = None, limit: Limit = 100
) -> list[dict[str, str]]:
    """The active accounts of the kommun this host serves (its `public_hosts`), or of the
    default kommun (P10.8, L1)."""
    return await _public_list(request, response, deps, after, limit)


@public.get("/accounts.html", response_class=HTMLResponse)
async def public_accounts_page_of_host(deps: HostDeps, lang: Language = "sv") -> str:
    """The page of the kommun this host serves, or of the default kommun (P10.8)."""
    return await _public_page(deps, lang)


router.include_router(staff)
router.include_router(people)
router.include_router(public)

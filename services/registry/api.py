"""The registry's HTTP API: request → domain → store (with its events); errors as 4xx
naming the field and the rule. The public list needs no login (P10.8)."""

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.registry import scheduler
from services.registry.changes import AccountNotFound, announce, change
from services.registry.domain import absence as absences
from services.registry.domain import account as accounts
from services.registry.domain.absence import Absence
from services.registry.domain.account import PROFILE_ITEMS, Account, Outcome, SignRole, State
from services.registry.domain.plan import parse_plan
from services.registry.register import export_csv, export_row, public_entry, public_page
from services.registry.store import AccountNameTaken, RegistryStore
from shared.auth import require
from shared.bus import EventPublisher
from shared.clock import utcnow
from shared.events import PersonRef
from shared.http import KommunDep, PublisherDep, StoreDep
from shared.kommun import KommunConfig, Language
from shared.principal import Principal, Role
from shared.rules import rule_error

Store = Annotated[RegistryStore, StoreDep]
Publisher = Annotated[EventPublisher, PublisherDep]
Kommun = Annotated[KommunConfig, KommunDep]

EDITORS = (Role.COMMUNICATOR, Role.ADMINISTRATOR, Role.INFORMATION_OFFICER)
MANAGERS = (Role.ADMINISTRATOR, Role.INFORMATION_OFFICER, Role.DEPARTMENT_HEAD, Role.UNIT_HEAD)
READERS = tuple(Role)  # every staff role may read the register (P10.1)
Editor = Annotated[Principal, require(*EDITORS)]
Manager = Annotated[Principal, require(*MANAGERS)]
Reader = Annotated[Principal, require(*READERS)]
Anyone = Annotated[Principal, require(*Role)]

# The plan's schema is documented as the component ActivityPlan (see AccountView.plan);
# the body is validated by parse_plan, which knows the kommun (P4.2, P10.1).
PLAN_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ActivityPlan"}}},
    }
}

router = APIRouter()
staff = APIRouter(prefix="/accounts", tags=["accounts"])
people = APIRouter(prefix="/absences", tags=["absences"])
public = APIRouter(prefix="/public", tags=["public"])


def _name_taken(exc: AccountNameTaken) -> HTTPException:
    platform, handle = exc.args
    return HTTPException(
        status.HTTP_409_CONFLICT, f"handle: {handle!r} on {platform} is already registered"
    )


async def _change(
    kommun: KommunConfig,
    store: RegistryStore,
    publisher: EventPublisher,
    account_id: str,
    decide: Callable[[Account], Outcome],
) -> Account:
    try:
        account = await change(store, publisher, account_id, decide)
    except AccountNotFound:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"account_id: no account {account_id!r}"
        ) from None
    except AccountNameTaken as exc:
        raise _name_taken(exc) from None
    # Compliance and attendance follow at once, not at the next tick (P3.1, P3.3).
    await scheduler.review_accounts(store, publisher, kommun, utcnow(), [account.id])
    return account


@staff.post("", status_code=status.HTTP_201_CREATED, openapi_extra=PLAN_BODY)
async def create_account(
    kommun: Kommun,
    store: Store,
    publisher: Publisher,
    by: Editor,
    plan: Annotated[dict[str, Any], Body()],
    draft: bool = False,
) -> Account:
    """Submit an activity plan (P3.6, B1), or save it as a draft; submitting publishes
    `account.created`. Every failing field is answered at once with its rule."""
    now = utcnow()
    account, events = accounts.create(parse_plan(plan, kommun, now.date()), by, now, draft=draft)
    try:
        await store.add(account, events)
    except AccountNameTaken as exc:
        raise _name_taken(exc) from None
    await announce(store.accounts_outbox, account.id, publisher)
    return account


@staff.get("")
async def list_accounts(
    store: Store,
    _: Reader,
    department: str | None = None,
    platform: str | None = None,
    state: Annotated[list[State] | None, Query()] = None,
) -> list[Account]:
    """The register (P10.1), by department, platform and state."""
    return await store.find(department, platform, state or ())


@staff.get("/export")
async def export_register(
    store: Store, _: Reader, format: Literal["csv", "json"] = "csv", department: str | None = None
) -> Response:
    """The department's or the whole kommun's register (P10.1), as CSV or JSON."""
    found = await store.find(department)
    name = f"konton-{department or 'kommunen'}".replace(" ", "-")
    if format == "json":
        return JSONResponse(
            [export_row(a) for a in found],
            headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
        )
    return Response(
        export_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@staff.get("/{account_id}")
async def get_account(account_id: str, store: Store, _: Reader) -> Account:
    found = await store.get(account_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"account_id: no account {account_id!r}")
    return found[0]


@staff.put("/{account_id}/plan", openapi_extra=PLAN_BODY)
async def amend_plan(
    kommun: Kommun,
    account_id: str,
    store: Store,
    publisher: Publisher,
    by: Editor,
    plan: Annotated[dict[str, Any], Body()],
) -> Account:
    """Amend the plan; new administrators, department or purpose need all four sign-offs
    again (P3.6). Publishes `account.updated`."""
    now = utcnow()
    parsed = parse_plan(plan, kommun, now.date())
    return await _change(
        kommun, store, publisher, account_id, lambda a: accounts.amend(a, parsed, by, now)
    )


@staff.post("/{account_id}/submit")
async def submit_draft(
    kommun: Kommun, account_id: str, store: Store, publisher: Publisher, by: Editor
) -> Account:
    return await _change(
        kommun, store, publisher, account_id, partial(accounts.submit, by=by, at=utcnow())
    )


class SignOff(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: SignRole = Field(description="Which of the four sign-offs of B1 this is.")


@staff.post("/{account_id}/signatures")
async def sign(
    kommun: Kommun,
    account_id: str,
    body: SignOff,
    store: Store,
    publisher: Publisher,
    by: Anyone,
) -> Account:
    """Sign the plan in one of the four roles of B1, as yourself (P2.1, P3.6); the fourth
    approves it (`account.approved`)."""
    return await _change(
        kommun, store, publisher, account_id, lambda a: accounts.sign(a, body.role, by, utcnow())
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


@staff.put("/{account_id}/credentials")
async def deposit_credentials(
    kommun: Kommun,
    account_id: str,
    body: Credentials,
    store: Store,
    publisher: Publisher,
    by: Anyone,
) -> Account:
    """The informationsansvarig records the deposit of credentials (P3.5)."""
    return await _change(
        kommun,
        store,
        publisher,
        account_id,
        lambda a: accounts.deposit_credentials(a, body.location, body.deposited_at, by, utcnow()),
    )


ProfileChecklist = Annotated[
    dict[str, bool], Body(description="P4.1 items, each true: " + ", ".join(PROFILE_ITEMS))
]


@staff.put("/{account_id}/profile")
async def confirm_profile(
    kommun: Kommun,
    account_id: str,
    checklist: ProfileChecklist,
    store: Store,
    publisher: Publisher,
    by: Editor,
) -> Account:
    """Confirm the profile shows what P4.1 asks."""
    return await _change(
        kommun,
        store,
        publisher,
        account_id,
        lambda a: accounts.confirm_profile(a, checklist, by, utcnow()),
    )


class Departure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str


@staff.post("/{account_id}/departures")
async def administrator_leaves(
    kommun: Kommun,
    account_id: str,
    body: Departure,
    store: Store,
    publisher: Publisher,
    by: Manager,
) -> Account:
    """An administrator stops; fewer than two publishes `account.noncompliant` (P3.1)."""
    return await _change(
        kommun,
        store,
        publisher,
        account_id,
        lambda a: accounts.administrator_leaves(a, body.email, by, utcnow()),
    )


class Closing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=2000)


@staff.post("/{account_id}/closing")
async def start_closing(
    kommun: Kommun,
    account_id: str,
    body: Closing,
    store: Store,
    publisher: Publisher,
    by: Manager,
) -> Account:
    """The unit stops using the platform (P5.5)."""
    return await _change(
        kommun,
        store,
        publisher,
        account_id,
        lambda a: accounts.start_closing(a, by, utcnow(), body.reason),
    )


@staff.post("/{account_id}/closed")
async def confirm_closed(
    kommun: Kommun, account_id: str, store: Store, publisher: Publisher, by: Manager
) -> Account:
    """The account is closed on the platform (P5.5); publishes `account.closed`."""
    return await _change(
        kommun, store, publisher, account_id, lambda a: accounts.confirm_closed(a, by, utcnow())
    )


class AbsenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: PersonRef
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    substitute: PersonRef | None = None


@people.post("", status_code=status.HTTP_201_CREATED)
async def register_absence(
    kommun: Kommun, body: AbsenceIn, store: Store, publisher: Publisher, by: Manager
) -> Absence:
    """Register an absence with its substitute (P3.3, P5.1). `admin.absent` follows when
    it starts, `admin.returned` when it ends; an account left unattended is announced
    as soon as that is so (P5.6)."""
    now = utcnow()
    absence = absences.register(body.person, body.starts_at, body.ends_at, body.substitute, by, now)
    await store.add_absence(absence)
    await scheduler.tick(store, publisher, kommun, now)
    return absence


@people.get("")
async def list_absences(store: Store, _: Reader) -> list[Absence]:
    """Absences not yet over."""
    return await store.current_absences(utcnow())


@public.get("/accounts")
async def public_accounts(store: Store) -> list[dict[str, str]]:
    """The kommun's active accounts, for anyone (P10.8, L1)."""
    return [public_entry(a) for a in await store.find(states=[State.ACTIVE])]


@public.get("/accounts.html", response_class=HTMLResponse)
async def public_accounts_page(kommun: Kommun, store: Store, lang: Language = "sv") -> str:
    """The same list as an accessible page to embed on the kommun's site (P10.8)."""
    return public_page(await store.find(states=[State.ACTIVE]), kommun, lang)


router.include_router(staff)
router.include_router(people)
router.include_router(public)

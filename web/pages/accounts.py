"""Accounts: the register with filters, an account's page and history, the activity
plan form (Bilaga 1) with drafts and amendments (P3.6), the four sign-offs (B1), the
credentials deposit (P3.5), the profile checklist (P4.1, P5.7), an administrator
leaving (P3.1), closing an account (P5.5), and absences with substitutes (P3.3, P5.1).

Every page reads and writes through the registry API with the person's token; the
API's rule-coded refusals are shown beside the field they name (web.services.ApiError).
"""

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from shared.events.account import PLATFORM_NAMES
from shared.kommun import Kommuner
from shared.principal import Principal, Role
from web.i18n import t
from web.render import render
from web.services import ApiDep, ApiError, FieldError, by_field, part

router = APIRouter()

SWEDEN = ZoneInfo("Europe/Stockholm")
STATES = ("draft", "submitted", "approved", "active", "closing", "closed")
SIGN_ROLES = ("administrator_1", "administrator_2", "department_head", "information_officer")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PER = ("day", "week", "month")
# The registry's profile checklist (services/registry/domain/account.py, PROFILE_RULES).
PROFILE_ITEMS = (
    "logo_and_kommun_name",
    "purpose_and_official_account",
    "unit_part_of_kommun",
    "update_frequency",
    "contacts_and_link_to_kommun_site",
    "posts_public_and_personal_data",
)
ADMIN_ROWS, OPERATOR_ROWS = 3, 2  # B1 item 5: up to three administrators
# The most rows of a repeated fieldset a posted form may name (`operators.49.email`): a
# plan lists a few people; a row number is never trusted to size a loop or a page.
MAX_ROWS = 50
PERSON_FIELDS = ("name", "email", "phone")
# What a redirect after a change may say (`?done=`): only these, never free text.
DONE = {
    "created": "accounts.created",
    "signed": "accounts.signed",
    "credentials": "credentials.title",
    "profile": "profile.done",
    "absence": "absences.created",
    "drafted": "draft.saved",
    "amended": "amend.saved",
    "reapproval": "amend.reapproval",
    "departure": "departure.done",
    "closing": "closing.started",
    "closed": "closing.closed",
}
# Who the registry lets change a plan, and who may record a departure or close an
# account (services/registry/api.py, EDITORS and MANAGERS): the page offers a form only
# to them; the API still decides.
EDITORS = frozenset({Role.COMMUNICATOR, Role.ADMINISTRATOR, Role.INFORMATION_OFFICER})
MANAGERS = frozenset(
    {Role.ADMINISTRATOR, Role.INFORMATION_OFFICER, Role.DEPARTMENT_HEAD, Role.UNIT_HEAD}
)
ENDED = ("closing", "closed")  # P5.5: nothing of the plan changes any more


def _organisation(request: Request, kommun: str) -> dict[str, list[str]]:
    """The kommun's departments and their units, for the form's choices (P10.1)."""
    kommuner: Kommuner = request.app.state.kommuner
    config = kommuner.get(kommun)
    return {name: list(dept.units) for name, dept in config.organisation.items()}


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _number(text: str, kind: type[int] | type[float]) -> Any:
    """A number where the text is one; otherwise the text, for the API to name."""
    try:
        return kind(text.replace(",", ".").replace(" ", ""))
    except ValueError:
        return text


class TooManyRows(ValueError):
    """A posted field names a row beyond MAX_ROWS: refused (422) beside the form, not
    looped over."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _rows(names: Iterable[str], prefix: str) -> int:
    """How many rows of a repeated fieldset `names` hold (`operators.3.email`: four): an
    amended plan may list more operators than a new form shows. A row at MAX_ROWS or
    beyond is TooManyRows."""
    rows = 0
    for name in names:
        parts = name.split(".")
        if parts[0] != prefix or len(parts) != 3 or not parts[1].isdigit():
            continue
        # isdigit() lets "²" and 5,000-digit numbers through; only short ASCII digits count.
        if not parts[1].isascii() or len(parts[1]) > 3 or int(parts[1]) >= MAX_ROWS:
            raise TooManyRows(name)
        rows = max(rows, int(parts[1]) + 1)
    return rows


def _people(
    form: FormData, prefix: str, rows: int, extra: tuple[str, ...]
) -> tuple[list[Any], list[int]]:
    """The filled rows of a repeated fieldset, and the form row each one came from (so
    an error on `administrators.1.email` lands beside the row the person filled in)."""
    people, rows_used = [], []
    for row in range(max(rows, _rows(form, prefix))):
        values = {f: _text(form, f"{prefix}.{row}.{f}") for f in (*PERSON_FIELDS, *extra)}
        if any(values.values()):
            people.append({k: v for k, v in values.items() if v or k in PERSON_FIELDS})
            rows_used.append(row)
    return people, rows_used


def plan_from_form(form: FormData) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The form as the API's plan (services/registry/domain/plan.py). Empty fields are
    left out, so the API says what is missing; nothing is validated here: the API's
    rules are the only ones."""
    plan: dict[str, Any] = {}
    for name in ("handle", "platform", "url", "department", "unit", "purpose", "audience"):
        if value := _text(form, name):
            plan[name] = value
    admins, admin_rows = _people(
        form, "administrators", ADMIN_ROWS, ("platform_knowledge_confirmed",)
    )
    operators, operator_rows = _people(form, "operators", OPERATOR_ROWS, ())
    plan["administrators"] = admins
    if operators:
        plan["operators"] = operators
    frequency: dict[str, Any] = {}
    if posts := _text(form, "update_frequency.posts"):
        frequency["posts"] = _number(posts, int)
    if per := _text(form, "update_frequency.per"):
        frequency["per"] = per
    plan["update_frequency"] = frequency
    monitoring: dict[str, Any] = {
        "days": [d for d in form.getlist("monitoring.days") if d in DAYS],
        "public_holidays": _text(form, "monitoring.public_holidays") == "on",
    }
    for edge in ("start", "end"):
        if value := _text(form, f"monitoring.{edge}"):
            monitoring[edge] = value
    plan["monitoring"] = monitoring
    for name in ("removal_deadline_hours", "answer_deadline_hours"):
        if value := _text(form, name):
            plan[name] = _number(value, int)
    if hours := _text(form, "hours_per_week"):
        plan["hours_per_week"] = _number(hours, float)
    return plan, {"administrators": admin_rows, "operators": operator_rows}


def _shown(value: Any) -> str:
    """A plan's value as its form field shows it: 4.0 hours as "4", none as empty."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def values_from_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """The API's plan as the form's fields, so that a draft is resumed and a plan is
    amended from what it says now (the inverse of plan_from_form)."""
    values: dict[str, Any] = {
        name: _shown(plan.get(name))
        for name in (
            "handle",
            "platform",
            "url",
            "department",
            "unit",
            "purpose",
            "audience",
            "removal_deadline_hours",
            "answer_deadline_hours",
            "hours_per_week",
        )
    }
    for kind, extra in (("administrators", ("platform_knowledge_confirmed",)), ("operators", ())):
        for row, person in enumerate(plan.get(kind) or []):
            for name in (*PERSON_FIELDS, *extra):
                values[f"{kind}.{row}.{name}"] = _shown(person.get(name))
    frequency = plan.get("update_frequency") or {}
    values["update_frequency.posts"] = _shown(frequency.get("posts"))
    values["update_frequency.per"] = _shown(frequency.get("per"))
    monitoring = plan.get("monitoring") or {}
    values["monitoring.days"] = list(monitoring.get("days") or [])
    for edge in ("start", "end"):
        values[f"monitoring.{edge}"] = _shown(monitoring.get(edge))[:5]  # HH:MM
    if monitoring.get("public_holidays"):
        values["monitoring.public_holidays"] = "on"
    return values


def _form_field(field: str, rows: dict[str, list[int]]) -> str:
    """An API field path as the form's field name: list indexes back to form rows."""
    parts = field.split(".")
    if len(parts) > 1 and parts[0] in rows and parts[1].isdigit():
        used = rows[parts[0]]
        index = int(parts[1])
        if index < len(used):
            parts[1] = str(used[index])
    return ".".join(parts)


def errors_by_field(
    errors: list[FieldError], rows: dict[str, list[int]] | None = None
) -> dict[str, list[FieldError]]:
    """The API's errors by the form field they belong beside (services.by_field), list
    indexes turned back into the form's rows."""
    return by_field(
        [FieldError(_form_field(e.field, rows or {}), e.rule, e.sv, e.en) for e in errors]
    )


def _plan_page(
    request: Request,
    api: ApiDep,
    values: dict[str, Any],
    errors: dict[str, list[FieldError]],
    status: int = 200,
    account: dict[str, Any] | None = None,
) -> Response:
    """The plan form: a new plan (`account` None), a draft resumed, or a plan amended."""
    user = api.user.principal
    mode = "new" if account is None else "draft" if account["state"] == "draft" else "amend"
    operators = _rows(values, "operators")
    return render(
        request,
        "accounts/plan_form.html",
        status_code=status,
        user=user,
        values=values,
        errors=errors,
        organisation=_organisation(request, user.kommun),
        platforms=PLATFORM_NAMES,
        days=DAYS,
        per=PER,
        admin_rows=ADMIN_ROWS,
        # Every operator the plan lists, and an empty row to add one.
        operator_rows=OPERATOR_ROWS if operators < OPERATOR_ROWS else operators + 1,
        mode=mode,
        account=account,
        action="/accounts/new" if account is None else f"/accounts/{part(account['id'])}/plan",
        key=values.get("key") or str(uuid.uuid4()),
    )


def _typed(form: FormData) -> dict[str, Any]:
    """The form as typed, to show it again beside its errors, with a new key: the
    corrected plan is another request than the refused one."""
    values: dict[str, Any] = {
        name: value for name, value in form.multi_items() if isinstance(value, str)
    }
    values["monitoring.days"] = form.getlist("monitoring.days")
    values["key"] = str(uuid.uuid4())
    return values


def _too_many_rows(
    request: Request,
    api: ApiDep,
    form: FormData,
    exc: TooManyRows,
    account: dict[str, Any] | None = None,
) -> Response:
    """The form again (422) without the rows out of range, the refusal naming the field
    and the limit."""
    values = _typed(form)
    for prefix in ("administrators", "operators"):
        for name in list(values):
            try:
                _rows([name], prefix)
            except TooManyRows:
                del values[name]
    sv = t("plan.too_many_rows", "sv", limit=MAX_ROWS)
    en = t("plan.too_many_rows", "en", limit=MAX_ROWS)
    errors = {exc.field: [FieldError(exc.field, "", sv, en)]}
    return _plan_page(request, api, values, errors, 422, account)


@router.get("/accounts/new")
async def new_plan(request: Request, api: ApiDep) -> Response:
    return _plan_page(request, api, {}, {})


@router.post("/accounts/new")
async def submit_plan(request: Request, api: ApiDep) -> Response:
    """Submit the plan (P3.6, B1), or save it as a draft to resume later (the button
    `action=draft`); the API's refusals beside their fields, in Swedish with the rule ID
    (422), the form kept as filled in. A draft is checked by the same rules."""
    form = await request.form()
    try:
        plan, rows = plan_from_form(form)
    except TooManyRows as exc:
        return _too_many_rows(request, api, form, exc)
    key = _text(form, "key") or None
    draft = _text(form, "action") == "draft"
    try:
        if draft:
            answer = await api.call(
                "registry", "POST", "/accounts", json=plan, params={"draft": "true"}, key=key
            )
            account: dict[str, Any] = answer.json()
        else:
            account = await api.submit_plan(plan, key)
    except ApiError as exc:
        if exc.status != 422 or not exc.errors:
            raise
        return _plan_page(request, api, _typed(form), errors_by_field(exc.errors, rows), 422)
    done = "drafted" if draft else "created"
    return RedirectResponse(f"/accounts/{part(account['id'])}?done={done}", status_code=303)


@router.get("/accounts/{account_id}/plan")
async def edit_plan(request: Request, api: ApiDep, account_id: str) -> Response:
    """A draft resumed, or a plan amended: the form filled in with the plan as it is."""
    account = await api.account(account_id)
    if account["state"] in ENDED:
        return _plan_page(request, api, values_from_plan(account["plan"]), _ended(), 409, account)
    return _plan_page(request, api, values_from_plan(account["plan"]), {}, account=account)


def _ended() -> dict[str, list[FieldError]]:
    error = FieldError("state", "P5.5", t("plan.ended", "sv"), t("plan.ended", "en"))
    return {"state": [error]}


@router.post("/accounts/{account_id}/plan")
async def save_plan(request: Request, api: ApiDep, account_id: str) -> Response:
    """PUT the plan: a draft saved again (`action=draft`) or submitted (`action=submit`,
    then POST submit, P3.6), or a live plan amended. Changing its administrators,
    department or purpose sends it back for all four sign-offs (P2.1, P3.6): the page
    says so from the API's answer."""
    form = await request.form()
    try:
        plan, rows = plan_from_form(form)
    except TooManyRows as exc:
        return _too_many_rows(request, api, form, exc, await api.account(account_id))
    key = _text(form, "key") or None
    action = _text(form, "action")
    here = f"/accounts/{part(account_id)}"
    try:
        answer = await api.call("registry", "PUT", f"{here}/plan", json=plan, key=key)
        account: dict[str, Any] = answer.json()
        if action == "submit" and account["state"] == "draft":
            submitted = await api.call("registry", "POST", f"{here}/submit", key=key)
            account = submitted.json()
            return RedirectResponse(f"{here}?done=created", status_code=303)
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        errors = exc.errors or _refused(exc, "state")
        current = await api.account(account_id)
        return _plan_page(
            request, api, _typed(form), errors_by_field(errors, rows), exc.status, current
        )
    if account["state"] == "draft":
        return RedirectResponse(f"{here}?done=drafted", status_code=303)
    last = (account.get("history") or [{}])[-1]
    reapproval = last.get("action") == "amended" and (last.get("details") or {}).get(
        "reapproval_required"
    )
    done = "reapproval" if reapproval else "amended"
    return RedirectResponse(f"{here}?done={done}", status_code=303)


def _refused(exc: ApiError, field: str) -> list[FieldError]:
    """A refusal that names no rule (the API's role check: 403 "this needs one of the
    roles: …") as an error beside `field`, in words."""
    if exc.status == 403:
        wanted = [r.strip() for r in exc.detail.rpartition(":")[2].split(",") if r.strip()]
        return [
            FieldError(
                field,
                "",
                t("refused.roles", "sv", roles=", ".join(t(f"role.{r}", "sv") for r in wanted)),
                t("refused.roles", "en", roles=", ".join(t(f"role.{r}", "en") for r in wanted)),
            )
        ]
    return [FieldError(field, "", exc.detail, exc.detail)]


@router.get("/accounts")
async def register(
    request: Request,
    api: ApiDep,
    department: str = "",
    platform: str = "",
    state: str = "",
    after: str = "",
) -> Response:
    """The register (P10.1), by department, platform and state, a page at a time."""
    filters = {"department": department, "platform": platform, "state": state}
    page = await api.accounts(filters, after or None)
    next_url = None
    if page.next_after:
        query = {k: v for k, v in filters.items() if v} | {"after": unquote(page.next_after)}
        next_url = f"/accounts?{urlencode(query)}"
    return render(
        request,
        "accounts/register.html",
        user=api.user.principal,
        accounts=page.items,
        filters=filters,
        organisation=_organisation(request, api.user.principal.kommun),
        platforms=PLATFORM_NAMES,
        states=STATES,
        next_url=next_url,
    )


def _my_sign_role(account: dict[str, Any], user: Principal) -> str:
    """The sign-off the person is most likely here for (preselected, never forced)."""
    if Role.ADMINISTRATOR in user.roles:
        for i, admin in enumerate(account["plan"]["administrators"][:2]):
            if str(admin["email"]).casefold() == user.email:
                return SIGN_ROLES[i]
    if Role.DEPARTMENT_HEAD in user.roles:
        return "department_head"
    if Role.INFORMATION_OFFICER in user.roles:
        return "information_officer"
    return ""


def _account_page(
    request: Request,
    api: ApiDep,
    account: dict[str, Any],
    template: str = "accounts/account.html",
    errors: dict[str, list[FieldError]] | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
) -> Response:
    done = request.query_params.get("done", "")
    signed = {s["role"]: s for s in account.get("signatures", [])}
    user = api.user.principal
    departed = {str(e).casefold() for e in account.get("departed") or []}
    closing = [h for h in account.get("history", []) if h.get("action") == "closing"]
    return render(
        request,
        template,
        status_code=status,
        user=user,
        account=account,
        may_edit=bool(user.roles & EDITORS),
        may_manage=bool(user.roles & MANAGERS),
        departed=departed,
        # P3.1: who can still leave; the plan keeps the names of those who have.
        staying=[
            (a["email"], f"{a['name']} ({a['email']})")
            for a in account["plan"]["administrators"]
            if str(a["email"]).casefold() not in departed
        ],
        closing=closing[-1] if closing else None,
        plan=account["plan"],
        platforms=PLATFORM_NAMES,
        signed=signed,
        sign_roles=SIGN_ROLES,
        my_role=_my_sign_role(account, api.user.principal),
        profile_items=PROFILE_ITEMS,
        errors=errors or {},
        values=values or {},
        done=DONE.get(done, ""),
        key=str(uuid.uuid4()),
    )


@router.get("/accounts/{account_id}")
async def account_page(request: Request, api: ApiDep, account_id: str) -> Response:
    """An account: its plan, its state, its sign-offs and its history."""
    return _account_page(request, api, await api.account(account_id))


@router.get("/accounts/{account_id}/sign")
async def sign_page(request: Request, api: ApiDep, account_id: str) -> Response:
    """The sign-off page, the same for each of the four signers (B1, P2.1, P3.6)."""
    return _account_page(request, api, await api.account(account_id), "accounts/sign.html")


async def _refused_here(
    request: Request,
    api: ApiDep,
    account_id: str,
    exc: ApiError,
    template: str,
    values: dict[str, str],
    field: str = "",
) -> Response:
    """A refused change shown on the page it came from, its rules beside the fields
    (422, 403 not this person, 409 not in this state). With `field`, a refusal naming
    no rule (the API's role check) stands beside that field too."""
    errors = exc.errors
    if not errors and field and exc.status in (403, 409):
        errors = _refused(exc, field)
    if not errors:
        raise exc
    account = await api.account(account_id)
    return _account_page(
        request, api, account, template, errors_by_field(errors), exc.status, values
    )


@router.post("/accounts/{account_id}/sign")
async def sign(request: Request, api: ApiDep, account_id: str) -> Response:
    form = await request.form()
    role = _text(form, "role")
    try:
        await api.sign(account_id, role, _text(form, "key") or None)
    except ApiError as exc:
        return await _refused_here(
            request, api, account_id, exc, "accounts/sign.html", {"role": role}
        )
    return RedirectResponse(f"/accounts/{part(account_id)}?done=signed", status_code=303)


def _aware(local: str) -> str:
    """A datetime-local field's value as an ISO time in Swedish time; the text as it is
    if it is none, for the API to name."""
    try:
        return datetime.fromisoformat(local).replace(tzinfo=SWEDEN).isoformat()
    except ValueError:
        return local


@router.post("/accounts/{account_id}/credentials")
async def deposit_credentials(request: Request, api: ApiDep, account_id: str) -> Response:
    """P3.5: where the credentials are kept, and since when; never the password."""
    form = await request.form()
    location, at = _text(form, "location"), _text(form, "deposited_at")
    try:
        await api.deposit_credentials(account_id, location, _aware(at), _text(form, "key") or None)
    except ApiError as exc:
        values = {"location": location, "deposited_at": at}
        return await _refused_here(request, api, account_id, exc, "accounts/account.html", values)
    return RedirectResponse(f"/accounts/{part(account_id)}?done=credentials", status_code=303)


@router.post("/accounts/{account_id}/profile")
async def confirm_profile(request: Request, api: ApiDep, account_id: str) -> Response:
    """P4.1, P5.7: every item of the profile checklist confirmed."""
    form = await request.form()
    checklist = {item: _text(form, item) == "on" for item in PROFILE_ITEMS}
    try:
        await api.confirm_profile(account_id, checklist, _text(form, "key") or None)
    except ApiError as exc:
        values = {item: "on" for item, ok in checklist.items() if ok}
        return await _refused_here(request, api, account_id, exc, "accounts/account.html", values)
    return RedirectResponse(f"/accounts/{part(account_id)}?done=profile", status_code=303)


async def _account_action(
    request: Request,
    api: ApiDep,
    account_id: str,
    action: str,
    field: str,
    sent: tuple[str, ...] = (),
) -> Response:
    """POST one of the account's actions (`/accounts/{id}/{action}`) with the form's
    `sent` fields as its body; done, back to the account saying so (`?done={action}`);
    refused, the account page with the refusal beside `field`."""
    form = await request.form()
    values = {name: _text(form, name) for name in sent}
    here = f"/accounts/{part(account_id)}"
    try:
        await api.call(
            "registry",
            "POST",
            f"{here}/{action}",
            json=values or None,
            key=_text(form, "key") or None,
        )
    except ApiError as exc:
        return await _refused_here(
            request, api, account_id, exc, "accounts/account.html", values, field
        )
    done = {"submit": "created", "departures": "departure"}.get(action, action)
    return RedirectResponse(f"{here}?done={done}", status_code=303)


@router.post("/accounts/{account_id}/submit")
async def submit_draft(request: Request, api: ApiDep, account_id: str) -> Response:
    """A draft submitted as it stands (P3.6); the sign-offs of B1 follow."""
    return await _account_action(request, api, account_id, "submit", "state")


@router.post("/accounts/{account_id}/departures")
async def administrator_leaves(request: Request, api: ApiDep, account_id: str) -> Response:
    """P3.1: an administrator stops; with fewer than two left the account is
    noncompliant, and the registry says so (account.noncompliant)."""
    return await _account_action(request, api, account_id, "departures", "email", ("email",))


@router.post("/accounts/{account_id}/closing")
async def start_closing(request: Request, api: ApiDep, account_id: str) -> Response:
    """P5.5: the unit stops using the platform; the account is to be closed, with the
    reason (the API asks for 3 to 2,000 characters)."""
    return await _account_action(request, api, account_id, "closing", "reason", ("reason",))


@router.post("/accounts/{account_id}/closed")
async def confirm_closed(request: Request, api: ApiDep, account_id: str) -> Response:
    """P5.5: the account is closed on the platform; the registry announces
    account.closed and it leaves the public list (P10.8)."""
    return await _account_action(request, api, account_id, "closed", "closed")


def _absences_page(
    request: Request,
    api: ApiDep,
    absences: list[dict[str, Any]],
    errors: dict[str, list[FieldError]],
    values: dict[str, str],
    status: int = 200,
) -> Response:
    return render(
        request,
        "accounts/absences.html",
        status_code=status,
        user=api.user.principal,
        absences=absences,
        errors=errors,
        values=values,
        done=DONE.get(request.query_params.get("done", ""), ""),
        key=str(uuid.uuid4()),
    )


@router.get("/absences")
async def absences(request: Request, api: ApiDep) -> Response:
    """Absences not yet over, and the form to register one with its substitute (P3.3,
    P5.1)."""
    return _absences_page(request, api, await api.absences(), {}, {})


@router.post("/absences")
async def register_absence(request: Request, api: ApiDep) -> Response:
    form = await request.form()
    values = {
        name: _text(form, name)
        for name in (
            "person.name",
            "person.email",
            "starts_at",
            "ends_at",
            "substitute.name",
            "substitute.email",
        )
    }
    body: dict[str, Any] = {
        "person": {"name": values["person.name"], "email": values["person.email"]},
        "starts_at": _aware(values["starts_at"]),
        "ends_at": _aware(values["ends_at"]),
    }
    if values["substitute.name"] or values["substitute.email"]:
        body["substitute"] = {
            "name": values["substitute.name"],
            "email": values["substitute.email"],
        }
    try:
        await api.register_absence(body, _text(form, "key") or None)
    except ApiError as exc:
        if not exc.errors:
            raise
        errors = errors_by_field(exc.errors)
        return _absences_page(request, api, await api.absences(), errors, values, exc.status)
    return RedirectResponse("/absences?done=absence", status_code=303)

"""`kanalvakt accounts …` and `kanalvakt absences …`: the registry's API from a terminal
or a script. Refusals are printed field by field with the rule, in Swedish by default
(`--lang en`); lists are tables (`--json` prints the API's own JSON).
"""

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
import typer
import yaml
from rich.console import Console
from rich.table import Table

from services.registry.domain.account import PROFILE_ITEMS, SignRole

DEFAULT_REGISTRY = "http://127.0.0.1:8001"
Lang = Literal["sv", "en"]

ProfileItem = StrEnum("ProfileItem", {item: item for item in PROFILE_ITEMS})  # type: ignore[misc]


class Language(StrEnum):
    SV = "sv"
    EN = "en"


class Refused(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class RegistryClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=timeout,
            transport=transport,
        )

    def _answer(self, method: str, path: str, **kwargs: Any) -> tuple[Any, httpx.Response]:
        answer = self._http.request(method, path, **kwargs)
        try:
            body = answer.json()
        except ValueError:
            body = answer.text
        if answer.status_code >= 400:
            raise Refused(answer.status_code, body)
        return body, answer

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._answer(method, path, **kwargs)[0]

    def _every_page(self, path: str, params: dict[str, Any]) -> list[Any]:
        """A paged list whole: the registry says `Link: <…>; rel="next"` while there is more."""
        found: list[Any] = []
        page, answer = self._answer("GET", path, params=params)
        while True:
            found += page
            following = answer.links.get("next")
            if not following:
                return found
            # The link carries the whole query (filters and cursor): no params, which
            # would replace it.
            page, answer = self._answer("GET", following["url"])

    def submit(self, plan: dict[str, Any], draft: bool) -> Any:
        return self._call("POST", "/accounts", json=plan, params={"draft": str(draft).lower()})

    def sign(self, account_id: str, role: str) -> Any:
        return self._call("POST", f"/accounts/{account_id}/signatures", json={"role": role})

    def deposit(self, account_id: str, location: str, at: str) -> Any:
        body = {"location": location, "deposited_at": at}
        return self._call("PUT", f"/accounts/{account_id}/credentials", json=body)

    def confirm_profile(self, account_id: str, items: list[str]) -> Any:
        return self._call("PUT", f"/accounts/{account_id}/profile", json=dict.fromkeys(items, True))

    def list(self, **filters: Any) -> Any:
        params = {k: v for k, v in filters.items() if v}
        return self._every_page("/accounts", params)

    def show(self, account_id: str) -> Any:
        return self._call("GET", f"/accounts/{account_id}")

    def add_absence(self, body: dict[str, Any]) -> Any:
        return self._call("POST", "/absences", json=body)

    def absences(self) -> Any:
        return self._call("GET", "/absences")


# -- what the user reads ---------------------------------------------------------------

TEXTS: dict[str, dict[Lang, str]] = {
    "refused": {
        "sv": "Registret avvisade begäran ({status}):",
        "en": "The registry refused ({status}):",
    },
    "unreachable": {
        "sv": "registret på {url} svarade inte: {error}",
        "en": "the registry at {url} did not answer: {error}",
    },
    "unauthorized": {
        "sv": "Ange en giltig token med --token eller KANALVAKT_TOKEN "
        "(lokalt: kanalvakt token --sub DU --role ROLL).",
        "en": "Give a valid token with --token or KANALVAKT_TOKEN "
        "(locally: kanalvakt token --sub YOU --role ROLE).",
    },
    "plan": {
        "sv": "kan inte läsa planen {path}: {error}",
        "en": "cannot read the plan {path}: {error}",
    },
}

# P5.1, P3.3: the absence's state as the API answers it, after it was advanced to now.
ABSENCE_STATES: dict[str, dict[Lang, str]] = {
    "scheduled": {"sv": "planerad, börjar {starts_at}", "en": "scheduled, begins {starts_at}"},
    "started": {
        "sv": "har börjat, pågår till {ends_at}",
        "en": "has begun, in effect until {ends_at}",
    },
    "ended": {"sv": "är över sedan {ends_at}", "en": "is over since {ends_at}"},
}


def _text(key: str, lang: Lang, **values: Any) -> str:
    return TEXTS[key][lang].format(**values)


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def say_refused(exc: Refused, lang: Lang) -> None:
    body = exc.body
    errors = body.get("errors") if isinstance(body, dict) else None
    _err(_text("refused", lang, status=exc.status))
    if errors:
        for e in errors:
            message = e.get("message", {})
            text = message.get(lang) or message.get("sv") if isinstance(message, dict) else message
            _err(f"  {e.get('field', '?')}: {text} ({e.get('rule', '?')})")
    else:
        detail = body.get("detail", body) if isinstance(body, dict) else body
        _err(f"  {detail}")
    if exc.status == 401:
        _err(_text("unauthorized", lang))


def absence_line(absence: dict[str, Any], lang: Lang) -> str:
    state = str(absence.get("state", ""))
    texts = ABSENCE_STATES.get(state)
    values = {"starts_at": absence.get("starts_at", "?"), "ends_at": absence.get("ends_at", "?")}
    said = f" ({texts[lang].format(**values)})" if texts else ""
    return f"{absence['id']} {state}{said}"


def _console() -> Console:
    # Whole ids and names even when piped: a narrow table would fold them.
    console = Console()
    return console if console.is_terminal else Console(width=200)


def accounts_table(accounts: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("ID", "STATE", "PLATFORM", "NAME"):
        table.add_column(column, no_wrap=True)
    table.add_column("DEPARTMENT / UNIT")
    for a in accounts:
        plan = a["plan"]
        table.add_row(
            a["id"],
            a["state"],
            plan["platform"],
            plan["handle"],
            f"{plan['department']} / {plan['unit']}",
        )
    return table


def absences_table(absences: list[dict[str, Any]], lang: Lang) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("ID", "STATE", "WHO", "FROM", "TO", "SUBSTITUTE"):
        table.add_column(column, no_wrap=column in ("ID", "STATE"))
    for a in absences:
        person = a.get("person") or {}
        substitute = a.get("substitute") or {}
        state = str(a.get("state", ""))
        template = ABSENCE_STATES.get(state, {}).get(lang, "")
        said = template.format(ends_at=a.get("ends_at", "")).split(",")[0]
        table.add_row(
            a.get("id", ""),
            f"{state} ({said})" if said else state,
            f"{person.get('name', '')} <{person.get('email', '')}>",
            str(a.get("starts_at", "")),
            str(a.get("ends_at", "")),
            substitute.get("email", "") if substitute else "",
        )
    return table


# -- commands ------------------------------------------------------------------------------

Registry = Annotated[
    str,
    typer.Option(envvar="KANALVAKT_REGISTRY_URL", help="the registry's base URL"),
]
Token = Annotated[
    str,
    typer.Option(envvar="KANALVAKT_TOKEN", show_default=False, help="bearer token"),
]
LangOpt = Annotated[Language, typer.Option("--lang", help="language of messages")]
AsJson = Annotated[bool, typer.Option("--json", help="print the API's JSON")]

accounts = typer.Typer(help="The register of accounts (registry API).", no_args_is_help=True)
absences = typer.Typer(help="Administrators' absences (registry API).", no_args_is_help=True)


def _client_call(registry: str, token: str, lang: Language, what: Any) -> Any:
    """Runs `what(client)`; every way it can fail becomes a message and exit code 1."""
    client = RegistryClient(registry, token)
    try:
        return what(client)
    except Refused as exc:
        say_refused(exc, lang.value)
    except httpx.HTTPError as exc:
        _err("kanalvakt: " + _text("unreachable", lang.value, url=registry, error=exc))
    raise typer.Exit(1)


def _print(result: Any, as_json: bool, plain: str) -> None:
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(plain)


@accounts.command("submit")
def accounts_submit(
    plan: Annotated[Path, typer.Argument(help="the activity plan (B1) as YAML")],
    draft: Annotated[bool, typer.Option(help="save as a draft, not yet submitted")] = False,
    registry: Registry = DEFAULT_REGISTRY,
    token: Token = "",
    lang: LangOpt = Language.SV,
    as_json: AsJson = False,
) -> None:
    """Submit an activity plan (B1) from YAML."""
    try:
        loaded = yaml.safe_load(plan.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        _err("kanalvakt: " + _text("plan", lang.value, path=plan, error=exc))
        raise typer.Exit(1) from None
    # YAML dates and times become JSON text, as the API takes them.
    body = json.loads(json.dumps(loaded, default=str))
    account = _client_call(registry, token, lang, lambda c: c.submit(body, draft))
    _print(account, as_json, f"{account['id']} {account['state']}")


@accounts.command("sign")
def accounts_sign(
    account_id: Annotated[str, typer.Argument(metavar="ID")],
    as_role: Annotated[SignRole, typer.Option("--as", help="the B1 role you sign in")],
    registry: Registry = DEFAULT_REGISTRY,
    token: Token = "",
    lang: LangOpt = Language.SV,
    as_json: AsJson = False,
) -> None:
    """Sign a plan in one of the four B1 roles (P2.1, P3.6)."""
    account = _client_call(registry, token, lang, lambda c: c.sign(account_id, as_role.value))
    signed = ", ".join(s["role"] for s in account["signatures"])
    _print(account, as_json, f"{account['id']} {account['state']} (signed: {signed})")


@accounts.command("deposit")
def accounts_deposit(
    account_id: Annotated[str, typer.Argument(metavar="ID")],
    location: Annotated[str, typer.Option(help="where the credentials are kept")],
    at: Annotated[str, typer.Option(help="when, e.g. 2026-11-23T10:00:00+01:00")],
    registry: Registry = DEFAULT_REGISTRY,
    token: Token = "",
    lang: LangOpt = Language.SV,
    as_json: AsJson = False,
) -> None:
    """Record where and when the credentials were deposited (P3.5); never the password."""
    account = _client_call(registry, token, lang, lambda c: c.deposit(account_id, location, at))
    _print(account, as_json, f"{account['id']} {account['state']}")


@accounts.command("profile")
def accounts_profile(
    account_id: Annotated[str, typer.Argument(metavar="ID")],
    item: Annotated[
        list[ProfileItem] | None,
        typer.Option(help="an item confirmed; repeat for more. None given: all six"),
    ] = None,
    registry: Registry = DEFAULT_REGISTRY,
    token: Token = "",
    lang: LangOpt = Language.SV,
    as_json: AsJson = False,
) -> None:
    """Confirm the profile checklist (P4.1, P5.7): the items given, or all six when none is."""
    items = [i.value for i in item] if item else list(PROFILE_ITEMS)
    account = _client_call(registry, token, lang, lambda c: c.confirm_profile(account_id, items))
    _print(account, as_json, f"{account['id']} {account['state']}")


@accounts.command("list")
def accounts_list(
    department: Annotated[str | None, typer.Option()] = None,
    platform: Annotated[str | None, typer.Option()] = None,
    state: Annotated[list[str] | None, typer.Option(help="repeat for more states")] = None,
    registry: Registry = DEFAULT_REGISTRY,
    token: Token = "",
    lang: LangOpt = Language.SV,
    as_json: AsJson = False,
) -> None:
    """List accounts as a table."""
    found = _client_call(
        registry,
        token,
        lang,
        lambda c: c.list(department=department, platform=platform, state=state),
    )
    if as_json:
        _print(found, True, "")
    else:
        _console().print(accounts_table(found))


@accounts.command("show")
def accounts_show(
    account_id: Annotated[str, typer.Argument(metavar="ID")],
    registry: Registry = DEFAULT_REGISTRY,
    token: Token = "",
    lang: LangOpt = Language.SV,
    as_json: AsJson = False,
) -> None:
    """One account with its plan and history (JSON)."""
    del as_json  # always JSON: the account is nested; kept so every command takes it
    _print(_client_call(registry, token, lang, lambda c: c.show(account_id)), True, "")


@absences.command("add")
def absences_add(
    name: Annotated[str, typer.Option(help="the administrator who is away")],
    email: Annotated[str, typer.Option()],
    starts: Annotated[str, typer.Option("--from", help="e.g. 2026-12-21T00:00:00+01:00")],
    ends: Annotated[str, typer.Option("--to")],
    substitute_name: Annotated[str, typer.Option()] = "",
    substitute_email: Annotated[str, typer.Option()] = "",
    registry: Registry = DEFAULT_REGISTRY,
    token: Token = "",
    lang: LangOpt = Language.SV,
    as_json: AsJson = False,
) -> None:
    """Register an absence (P5.1); prints its state as the registry answers it."""
    substitute = {"name": substitute_name, "email": substitute_email} if substitute_email else None
    body = {
        "person": {"name": name, "email": email},
        "starts_at": starts,
        "ends_at": ends,
        "substitute": substitute,
    }
    absence = _client_call(registry, token, lang, lambda c: c.add_absence(body))
    _print(absence, as_json, absence_line(absence, lang.value))


@absences.command("list")
def absences_list(
    registry: Registry = DEFAULT_REGISTRY,
    token: Token = "",
    lang: LangOpt = Language.SV,
    as_json: AsJson = False,
) -> None:
    """Absences not yet over, as a table."""
    found = _client_call(registry, token, lang, lambda c: c.absences())
    if as_json:
        _print(found, True, "")
    else:
        _console().print(absences_table(found, lang.value))


def add_commands(app: typer.Typer) -> None:
    app.add_typer(accounts, name="accounts")
    app.add_typer(absences, name="absences")

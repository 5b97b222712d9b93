"""`kanalvakt accounts …` and `kanalvakt absences …`: the registry's API from a terminal
or a script. Refusals are printed field by field with the rule, in Swedish by default.
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from services.registry.domain.account import PROFILE_ITEMS, SignRole

DEFAULT_REGISTRY = "http://127.0.0.1:8001"


class Refused(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class RegistryClient:
    def __init__(self, base_url: str, token: str, timeout: float = 15.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"} if token else {},
            timeout=timeout,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self._http.request(method, path, **kwargs)
        try:
            body = answer.json()
        except ValueError:
            body = answer.text
        if answer.status_code >= 400:
            raise Refused(answer.status_code, body)
        return body

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
        return self._call("GET", "/accounts", params=params)

    def show(self, account_id: str) -> Any:
        return self._call("GET", f"/accounts/{account_id}")

    def add_absence(self, body: dict[str, Any]) -> Any:
        return self._call("POST", "/absences", json=body)

    def absences(self) -> Any:
        return self._call("GET", "/absences")


def _say_refused(exc: Refused, lang: str) -> None:
    body = exc.body
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        for e in errors:
            print(f"{e['field']}: {e['message'][lang]} ({e['rule']})", file=sys.stderr)
    else:
        detail = body.get("detail", body) if isinstance(body, dict) else body
        print(f"{exc.status}: {detail}", file=sys.stderr)


def _table(accounts: list[dict[str, Any]]) -> str:
    rows = [("ID", "STATE", "PLATFORM", "NAME", "DEPARTMENT / UNIT")]
    rows += [
        (
            a["id"],
            a["state"],
            a["plan"]["platform"],
            a["plan"]["handle"],
            f"{a['plan']['department']} / {a['plan']['unit']}",
        )
        for a in accounts
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def run(args: argparse.Namespace) -> int:
    client = RegistryClient(args.registry, args.token)
    try:
        result = _dispatch(client, args)
    except Refused as exc:
        _say_refused(exc, args.lang)
        return 1
    except httpx.HTTPError as exc:
        print(f"kanalvakt: the registry at {args.registry} did not answer: {exc}", file=sys.stderr)
        return 1
    if isinstance(result, str):
        print(result)
    elif result is not None:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def _dispatch(client: RegistryClient, args: argparse.Namespace) -> Any:
    action = f"{args.command} {args.action}"
    if action == "accounts submit":
        plan = yaml.safe_load(Path(args.plan).read_text(encoding="utf-8"))
        # YAML dates and times become JSON text, as the API takes them.
        account = client.submit(json.loads(json.dumps(plan, default=str)), args.draft)
        return account if args.json else f"{account['id']} {account['state']}"
    if action == "accounts sign":
        account = client.sign(args.id, args.as_role)
        signed = ", ".join(s["role"] for s in account["signatures"])
        return account if args.json else f"{account['id']} {account['state']} (signed: {signed})"
    if action == "accounts deposit":
        account = client.deposit(args.id, args.location, args.at)
        return account if args.json else f"{account['id']} {account['state']}"
    if action == "accounts profile":
        account = client.confirm_profile(args.id, args.item or list(PROFILE_ITEMS))
        return account if args.json else f"{account['id']} {account['state']}"
    if action == "accounts list":
        accounts = client.list(department=args.department, platform=args.platform, state=args.state)
        return accounts if args.json else _table(accounts)
    if action == "accounts show":
        return client.show(args.id)
    if action == "absences add":
        substitute = (
            {"name": args.substitute_name, "email": args.substitute_email}
            if args.substitute_email
            else None
        )
        absence = client.add_absence(
            {
                "person": {"name": args.name, "email": args.email},
                "starts_at": args.starts,
                "ends_at": args.ends,
                "substitute": substitute,
            }
        )
        return absence if args.json else f"{absence['id']} {absence['state']}"
    if action == "absences list":
        return client.absences()
    raise AssertionError(action)


def add_commands(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--registry", default=os.environ.get("KANALVAKT_REGISTRY_URL", DEFAULT_REGISTRY)
    )
    common.add_argument(
        "--token",
        default=os.environ.get("KANALVAKT_TOKEN", ""),
        help="bearer token (or KANALVAKT_TOKEN)",
    )
    common.add_argument("--lang", choices=["sv", "en"], default="sv", help="language of errors")
    common.add_argument("--json", action="store_true", help="print the API's JSON")

    accounts = sub.add_parser("accounts", help="the register of accounts (registry API)")
    acc = accounts.add_subparsers(dest="action", required=True)
    p = acc.add_parser("submit", parents=[common], help="submit an activity plan (YAML)")
    p.add_argument("plan", type=Path)
    p.add_argument("--draft", action="store_true", help="save as a draft, not yet submitted")
    p = acc.add_parser("sign", parents=[common], help="sign a plan in one of the B1 roles")
    p.add_argument("id")
    p.add_argument("--as", dest="as_role", required=True, choices=[r.value for r in SignRole])
    p = acc.add_parser("deposit", parents=[common], help="record deposited credentials (P3.5)")
    p.add_argument("id")
    p.add_argument("--location", required=True, help="where the credentials are kept")
    p.add_argument("--at", required=True, help="when, e.g. 2026-11-23T10:00:00+01:00")
    p = acc.add_parser("profile", parents=[common], help="confirm the profile checklist (P4.1)")
    p.add_argument("id")
    p.add_argument(
        "--item",
        action="append",
        default=list(PROFILE_ITEMS),
        help="items confirmed (default: all)",
    )
    p = acc.add_parser("list", parents=[common], help="list accounts")
    p.add_argument("--department")
    p.add_argument("--platform")
    p.add_argument("--state", action="append")
    p = acc.add_parser("show", parents=[common], help="one account with its history")
    p.add_argument("id")
    for parser in (accounts,):
        parser.set_defaults(func=run)

    absences = sub.add_parser("absences", help="administrators' absences (registry API)")
    ab = absences.add_subparsers(dest="action", required=True)
    p = ab.add_parser("add", parents=[common], help="register an absence (P5.1)")
    p.add_argument("--name", required=True)
    p.add_argument("--email", required=True)
    p.add_argument("--from", dest="starts", required=True, help="e.g. 2026-12-21T00:00:00+01:00")
    p.add_argument("--to", dest="ends", required=True)
    p.add_argument("--substitute-name", default="")
    p.add_argument("--substitute-email", default="")
    ab.add_parser("list", parents=[common], help="absences not yet over")
    absences.set_defaults(func=run)

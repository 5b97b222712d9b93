"""The register of accounts as others read it: the public list of active accounts
(P10.8, L1) as JSON and as an accessible page in Swedish (English on request), and the
department's or the whole kommun's register as CSV and JSON (P10.1).
"""

import csv
import io
from html import escape
from typing import Any

from services.registry.domain.account import Account
from shared.events import PLATFORM_NAMES
from shared.kommun import KommunConfig, Language
from shared.personnummer import mask_personnummer


def public_entry(account: Account) -> dict[str, str]:
    """What the public may see of an account: who runs it and why (P4.2, P10.8, L1).

    Plans are refused with a personnummer in them (L7, domain/plan.py); masking here as
    well keeps one out of public view even from a plan stored before that check."""
    plan = account.plan
    entry = {
        "name": plan.handle,
        "platform": plan.platform,
        "url": str(plan.url),
        "department": plan.department,
        "unit": plan.unit,
        "purpose": plan.purpose,
    }
    return {k: mask_personnummer(v) for k, v in entry.items()}


_TEXT: dict[Language, dict[str, str]] = {
    "sv": {
        "title": "{kommun} i sociala medier",
        "intro": "{kommun} finns på dessa officiella konton. Kontona drivs av kommunen; det "
        "du skriver där blir synligt för andra och kan bli allmän handling.",
        "caption": "Kommunens officiella konton i sociala medier",
        "account": "Konto",
        "platform": "Tjänst",
        "owner": "Förvaltning och enhet",
        "purpose": "Syfte",
        "none": "Kommunen har inga aktiva konton just nu.",
        "other_lang": "In English",
        "other_href": "?lang=en",
    },
    "en": {
        "title": "{kommun} on social media",
        "intro": "{kommun} is on these official accounts. They are run by the municipality; "
        "what you write there is visible to others and may become a public record.",
        "caption": "The municipality's official social media accounts",
        "account": "Account",
        "platform": "Service",
        "owner": "Department and unit",
        "purpose": "Purpose",
        "none": "The municipality has no active accounts at the moment.",
        "other_lang": "På svenska",
        "other_href": "?lang=sv",
    },
}


def public_page(accounts: list[Account], kommun: KommunConfig, lang: Language = "sv") -> str:
    t = {k: v.format(kommun=escape(kommun.kommun.name)) for k, v in _TEXT[lang].items()}
    rows = []
    for account in sorted(accounts, key=lambda a: (a.plan.department, a.plan.handle.casefold())):
        e = {k: escape(v) for k, v in public_entry(account).items()}
        platform = escape(PLATFORM_NAMES.get(account.plan.platform, "") or account.plan.platform)
        rows.append(
            f'<tr><td><a href="{e["url"]}">{e["name"]}</a></td><td>{platform}</td>'
            f"<td>{e['department']}, {e['unit']}</td><td>{e['purpose']}</td></tr>"
        )
    table = (
        f"<table><caption>{t['caption']}</caption><thead><tr>"
        f'<th scope="col">{t["account"]}</th><th scope="col">{t["platform"]}</th>'
        f'<th scope="col">{t["owner"]}</th><th scope="col">{t["purpose"]}</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else f"<p>{t['none']}</p>"
    )
    return (
        f'<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{t['title']}</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;"
        "border-bottom:1px solid #767676;vertical-align:top}caption{text-align:left;"
        "font-weight:bold;padding:.4rem 0}a{color:#0645ad}</style></head>"
        f"<body><main><h1>{t['title']}</h1><p>{t['intro']}</p>{table}"
        f'<p><a href="{t["other_href"]}" lang="{"en" if lang == "sv" else "sv"}">'
        f"{t['other_lang']}</a></p></main></body></html>\n"
    )


EXPORT_COLUMNS = (
    "id",
    "state",
    "name",
    "platform",
    "url",
    "department",
    "unit",
    "purpose",
    "audience",
    "administrators",
    "operators",
    "update_frequency",
    "monitoring",
    "removal_deadline_hours",
    "answer_deadline_hours",
    "hours_per_week",
    "created_at",
    "approved_at",
    "credentials_deposited_at",
    "findings",
)


def export_row(account: Account) -> dict[str, Any]:
    """One account in the register (P10.1): everything but the history."""
    plan = account.plan
    people = "; ".join(f"{a.name} <{a.email}> {a.phone}" for a in plan.administrators)
    operators = "; ".join(f"{o.name} <{o.email}> {o.phone}" for o in plan.operators)
    m = plan.monitoring
    return {
        "id": account.id,
        "state": account.state.value,
        **public_entry(account),
        "audience": plan.audience,
        "administrators": people,
        "operators": operators,
        "update_frequency": f"{plan.update_frequency.posts}/{plan.update_frequency.per}",
        "monitoring": f"{','.join(m.days)} {m.start:%H:%M}-{m.end:%H:%M}"
        + (" incl. public holidays" if m.public_holidays else ""),
        "removal_deadline_hours": plan.removal_deadline_hours,
        "answer_deadline_hours": plan.answer_deadline_hours,
        "hours_per_week": plan.hours_per_week,
        "created_at": account.created_at.isoformat(),
        "approved_at": account.approved_at.isoformat() if account.approved_at else "",
        "credentials_deposited_at": (
            account.credentials.deposited_at.isoformat() if account.credentials else ""
        ),
        "findings": " ".join(account.findings),
    }


def export_csv(accounts: list[Account]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for account in accounts:
        writer.writerow(export_row(account))
    return out.getvalue()

"""What a notification says, in the recipient's language (Swedish by default, English
per recipient), rendered from Jinja2 templates in services/notify/templates/: a subject,
a short text, the same as HTML, a link to the item.

`context_of` takes only named, non-secret fields of an event: the account's name,
platform, department and unit, the case and record ids, rule ids, categories, times
(wall-clock time in Sweden) and staff names the registry gave. Never a comment's text,
its author, a reporter's or moderator's words, the police-report draft, a personnummer
or a token: a confidential comment is named by its record id only (L7). `render` makes
the Message from that context; every value is escaped in the HTML part.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from jinja2 import Environment, FileSystemLoader, Template, select_autoescape
from markupsafe import Markup

from services.notify.domain.directory import Account
from services.notify.domain.notifications import Message
from shared.clock import SWEDEN
from shared.events import (
    PLATFORM_NAMES,
    AccountNoncompliant,
    AccountRef,
    AccountUnattended,
    AccountUnsupervised,
    AdminAbsent,
    AdminReturned,
    CommentFlagged,
    Event,
    ModerationDecided,
    ModerationEscalated,
    SlaBreached,
    SlaWarning,
)
from shared.kommun import KommunConfig, Language

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


# The facts a message lists under its lead, in this order, when the context has them.
FACTS = (
    "account",
    "accounts",
    "platform",
    "department",
    "unit",
    "case_id",
    "record_id",
    "categories",
    "rules",
    "person",
    "substitute",
    "starts_at",
    "ends_at",
    "since",
    "waiting_since",
    "due",
)


def local_time(at: datetime) -> str:
    """Wall-clock time in Sweden, as staff read it."""
    return at.astimezone(SWEDEN).strftime("%Y-%m-%d %H:%M")


def _base(config: KommunConfig) -> str:
    base = config.notify.links_base_url
    return str(base).rstrip("/") if base is not None else ""


def link_to(config: KommunConfig, path: str) -> str:
    """A link into Kanalvakt, or "" when the kommun has set no `links_base_url`."""
    base = _base(config)
    return f"{base}{path}" if base else ""


def acknowledge_url(config: KommunConfig, token: str) -> str:
    """The acknowledge link (P5.6, P5.8): "" when the kommun has set no `links_base_url`."""
    return link_to(config, f"/acknowledge/{token}")


def _path(event: Event) -> str:
    """Where the item is seen in Kanalvakt's web interface (web/pages; the links host
    routes there): a case's page, the moderation queue, absences, an account."""
    if isinstance(event, SlaWarning | SlaBreached | ModerationEscalated | ModerationDecided):
        return f"/moderation/{quote(event.data.case_id, safe='')}"
    if isinstance(event, CommentFlagged):  # its case has the comment's id
        return f"/moderation/{quote(event.data.comment_id, safe='')}"
    if isinstance(event, AccountUnsupervised):
        return "/moderation"
    if isinstance(event, AdminAbsent | AdminReturned):
        return "/absences"
    account_id = getattr(event.data, "account_id", "")
    return f"/accounts/{quote(account_id, safe='')}" if account_id else ""


def context_of(event: Event, accounts: Sequence[Account], config: KommunConfig) -> dict[str, str]:
    """The message's values: named, non-secret fields only (L7). `accounts` are the
    directory's accounts the event is about (empty when unknown)."""
    data = event.data
    ctx: dict[str, str] = {"kommun": config.kommun.name, "event": event.nats_subject}
    account = accounts[0] if accounts else None
    account_id = str(getattr(data, "account_id", "") or (account.id if account else ""))
    if account_id:
        ctx["account_id"] = account_id
    if isinstance(data, AccountRef):
        ctx |= {
            "account": data.name,
            "platform": data.platform,
            "department": data.department,
            "unit": data.unit,
        }
    elif account is not None and account.known:
        ctx |= {
            "account": account.name,
            "platform": account.platform,
            "department": account.department,
            "unit": account.unit,
        }
    elif isinstance(event, AccountUnsupervised):
        ctx |= {"account": event.data.account_name, "platform": event.data.platform}
    elif account_id:
        ctx["account"] = account_id  # not yet in the directory: its id says which
    if "platform" in ctx:
        ctx["platform"] = PLATFORM_NAMES.get(ctx["platform"]) or ctx["platform"]
    ctx |= _specific(event)
    path = _path(event)
    if path and (link := link_to(config, path)):
        ctx["link"] = link
    return {k: v for k, v in ctx.items() if v}


def _specific(event: Event) -> dict[str, str]:
    """Each event type's own safe fields, by name."""
    if isinstance(event, AccountNoncompliant):
        findings = event.data.findings
        return {
            "rules": _joined(f.rule for f in findings),
            "findings_sv": "; ".join(f"{f.reason_sv} ({f.rule})" for f in findings),
            "findings_en": "; ".join(f"{f.reason_en} ({f.rule})" for f in findings),
        }
    if isinstance(event, AccountUnattended):
        return {"since": local_time(event.data.since)}
    if isinstance(event, AdminAbsent | AdminReturned):
        d = event.data
        return {
            "person": d.administrator.name,
            "substitute": d.substitute.name if d.substitute else "",
            "starts_at": local_time(d.starts_at),
            "ends_at": local_time(d.ends_at),
        }
    if isinstance(event, CommentFlagged):
        f = event.data
        # Never f.reason (a reporter's words) or the evidence's matched words (L7).
        return {
            "record_id": f.comment_id,
            "action": f.action,
            "categories": _joined(f.categories),
            "rules": _joined(f.rules),
            "due": local_time(f.due) if f.due else "",
        }
    if isinstance(event, ModerationEscalated):
        e = event.data
        # Never the police-report draft: it holds the comment's text and author (P5.8, L7).
        return {
            "case_id": e.case_id,
            "record_id": e.comment_id,
            "categories": e.category,
            "rules": _joined(e.rules),
        }
    if isinstance(event, SlaWarning | SlaBreached):
        s = event.data
        return {
            "case_id": s.case_id,
            "record_id": s.comment_id,
            "label": s.label,
            "categories": s.category,
            "rules": _joined(s.rules),
            "due": local_time(s.due),
        }
    if isinstance(event, AccountUnsupervised):
        return {"waiting_since": local_time(event.data.waiting_since)}
    if isinstance(event, ModerationDecided):
        m = event.data
        # Never the reason or the reply: a moderator's free text may quote the comment.
        return {
            "case_id": m.case_id,
            "record_id": m.comment_id,
            "resolution": m.resolution,
            "rules": _joined(m.rules),
            "forwarded_by": m.by.name,
        }
    return {}


def _joined(values: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(values))


# Rendering ------------------------------------------------------------------------------


@cache
def _environments() -> tuple[Environment, Environment]:
    """Text (no escaping) and HTML (every value escaped) over the same templates."""
    loader = FileSystemLoader(TEMPLATES)
    # Plain text is never read as markup: nothing to escape (the HTML part escapes).
    # auto_reload off: the templates ship with the code and change only with a new
    # release, so no file is stat()ed (blocking the event loop) on every render.
    text = Environment(
        loader=loader,
        autoescape=False,  # noqa: S701
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    html = Environment(
        loader=loader,
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    return text, html


@cache
def wording() -> dict[str, Any]:
    """Per language: each event type's subject and lead, the facts' labels, the rest."""
    loaded: dict[str, Any] = yaml.safe_load((TEMPLATES / "wording.yaml").read_text("utf-8"))
    return loaded


@cache
def _compiled(html: bool, source: str) -> Template:
    return _environments()[1 if html else 0].from_string(source)


def _say(source: str, values: Mapping[str, str], *, html: bool = False) -> str:
    return _compiled(html, source).render(values).strip()


def render(
    event_type: str,
    context: Mapping[str, str],
    language: Language,
    level: int = 1,
    acknowledge_url: str = "",
) -> Message:
    """The message about an event to one recipient, in their language. Level > 1 says
    that the level before has not acknowledged (P5.6)."""
    words = wording()[language]
    event_words = words["events"].get(event_type, words["events"]["default"])
    values = dict(context)
    if categories := context.get("categories"):
        names = words["categories"]
        values["categories"] = ", ".join(names.get(c, c) for c in categories.split(", "))
    if findings := context.get(f"findings_{language}"):
        values["findings"] = findings
    if fallback := context.get("fallback"):
        selectors = words["selectors"]
        values["instead"] = ", ".join(selectors.get(s, s) for s in fallback.split(","))
    values |= {"level": str(level), "previous": str(level - 1)}
    facts = [(words["labels"][k], values[k]) for k in FACTS if values.get(k)]
    if values.get("findings"):
        facts.append((words["labels"]["findings"], values["findings"]))
    notes = [
        _say(words[name], values)
        for name, wanted in (("level_note", level > 1), ("fallback_note", bool(fallback)))
        if wanted
    ]
    link = context.get("link", "")
    parts = {
        "facts": facts,
        "link": link,
        "acknowledge_url": acknowledge_url,
        "words": words,
        "values": values,
    }
    text_env, html_env = _environments()
    subject = " ".join(_say(event_words["subject"], values).split())
    if level > 1:
        subject = f"{_say(words['level_prefix'], values)} {subject}"
    text = text_env.get_template("message.txt").render(
        parts, lead=_say(event_words["lead"], values), notes=notes, subject=subject
    )
    html_notes = [
        Markup(_say(words[name], values, html=True))  # noqa: S704  # escaped by its template
        for name, wanted in (("level_note", level > 1), ("fallback_note", bool(fallback)))
        if wanted
    ]
    html = html_env.get_template("message.html").render(
        parts,
        lead=Markup(_say(event_words["lead"], values, html=True)),  # noqa: S704  # escaped
        notes=html_notes,
        subject=subject,
        language=language,
    )
    return Message(
        subject=subject,
        text=text.strip() + "\n",
        html=html,
        link=link,
        acknowledge_url=acknowledge_url,
    )

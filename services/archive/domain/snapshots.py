"""Snapshots of accounts (P10.5, L8): when one is due, what it shows, what is kept of it.
Pure rules: rendering (services.archive.render) and storing are the handlers'.

A snapshot is a PDF/A file of the account as the archive knows it at one moment: its
profile and plan facts and its recent posts and comments with their states. It is taken
yearly (or every `interval_days`), at a larger change (`account.updated` with profile or
purpose changes) and before the account closes; each once per `key` (the event, or the
due time, that asked for it), so a redelivered event or a second replica takes none twice.
"""

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from services.archive.domain.records import Record
from services.archive.domain.search import masked_text
from shared.kommun import Snapshots

Reason = Literal["yearly", "changed", "closing", "requested"]

PDF_VARIANT = "pdf/a-3b"
SWEDEN = ZoneInfo("Europe/Stockholm")

# The account's plan facts a snapshot lists first, in this order, with Swedish labels;
# any other fact the registry sends follows under its own name.
PLAN_LABELS: dict[str, str] = {
    "name": "Namn på plattformen",
    "platform": "Plattform",
    "url": "Adress",
    "department": "Förvaltning",
    "unit": "Enhet",
    "purpose": "Syfte och målgrupp",
    "state": "Status",
    "administrators": "Administratörer",
    "monitoring": "Bevakning",
    "removal_deadline_hours": "Tid att ta bort olämpligt innehåll (timmar)",
    "answer_deadline_hours": "Tid att svara (timmar)",
    "submitted_by": "Inlämnad av",
    "signatures": "Underskrifter",
}
HIDDEN_FACTS = frozenset({"account_id", "changes", "reapproval_required"})

REASONS_SV: dict[str, str] = {
    "yearly": "Årlig ögonblicksbild",
    "changed": "Större ändring av kontot",
    "closing": "Kontot avslutas",
    "requested": "Begärd av arkivarie",
}
STATES_SV: dict[str, str] = {
    "published": "publicerad",
    "edited": "redigerad",
    "hidden": "dold",
    "removed": "borttagen enligt policyn",
    "deleted": "raderad på plattformen",
}
SEALED_TEXT = "[sekretess]"


@dataclass(frozen=True)
class Snapshot:
    """What is kept of a snapshot beside its file; the file's bytes are the store's."""

    id: str
    kommun: str
    account_id: str
    account_name: str
    reason: Reason
    key: str  # what asked for it: one snapshot per key
    taken_at: datetime
    sha256: str  # of the PDF file
    size_bytes: int
    pdf_variant: str
    items: int  # posts and comments shown
    dropped: int  # the oldest left out so the file fits the store (16 MB a document)


def larger_change(changes: Iterable[str], rule: Snapshots) -> bool:
    """P10.5: an `account.updated` whose changes include one the kommun counts as larger
    (profile or purpose), matched by the change's last part (`plan.purpose`)."""
    return any(change.rsplit(".", 1)[-1] in rule.changes for change in changes)


def snapshot_id(kommun: str, account_id: str, key: str) -> str:
    """One id per kommun, account and key, so a second add of it is AlreadyExists: the
    key is hashed (it may be anything an event or a caller chose), the account id kept
    readable but reduced to characters safe in a URL path."""
    digest = hashlib.sha256(f"{kommun}\n{account_id}\n{key}".encode()).hexdigest()[:32]
    account = re.sub(r"[^A-Za-z0-9_-]", "_", account_id)[:80]
    return f"{kommun}-{account}-{digest}"


def due_since(account: Record, last_taken: datetime | None) -> datetime | None:
    """From when the next periodic snapshot counts: the last one's time, or if none the
    time the account's record was first kept."""
    return last_taken or account.first_at


def due_at(account: Record, last_taken: datetime | None, rule: Snapshots) -> datetime | None:
    since = due_since(account, last_taken)
    return None if since is None else since + timedelta(days=rule.interval_days)


def recent_since(now: datetime, rule: Snapshots) -> datetime:
    """The posts and comments a snapshot shows: those first seen after this."""
    return now - timedelta(days=rule.recent_days)


# What the template shows


@dataclass(frozen=True)
class Item:
    """One post or comment as a snapshot shows it; a sealed record's text never (P10.3)."""

    id: str
    kind: str  # Inlägg, Kommentar
    author: str
    author_kind: str  # kommunen / allmänheten (P10.6)
    origin: str  # inkommen / upprättad (L4)
    origin_at: str
    state: str
    states: str  # every state on the platform, in order (L6)
    versions: int
    text: str
    sealed: bool
    diary_number: str
    url: str


def item(record: Record) -> Item:
    author = record.author
    author_kind = ""
    if author is not None:
        author_kind = "kommunen" if author.kind.value == "kommun" else "allmänheten"
    return Item(
        id=record.id,
        kind="Inlägg" if record.kind.value == "post" else "Kommentar",
        author=author.name if author else "",
        author_kind=author_kind,
        origin=record.origin.value if record.origin else "okänt",
        origin_at=local(record.origin_at),
        state=STATES_SV.get(record.state.value, record.state.value) if record.state else "okänt",
        states=", ".join(
            f"{STATES_SV.get(s.state.value, s.state.value)} {local(s.at)}" for s in record.states
        ),
        versions=len(record.versions),
        # P10.3, L7: a record that may be confidential is sealed: never its text here.
        text=SEALED_TEXT if record.sealed else masked(record),
        sealed=record.sealed,
        diary_number=record.registration.diary_number if record.registration else "",
        url=record.url,
    )


def masked(record: Record) -> str:
    """The latest text as anyone but the registrar may read it (L4, L7): the same masking
    as a request for public records gets (domain.search)."""
    return masked_text(record, record.versions[-1]) if record.versions else ""


def local(at: datetime | None) -> str:
    return at.astimezone(SWEDEN).strftime("%Y-%m-%d %H:%M") if at else ""


def plan_facts(content: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The account's latest plan facts as (Swedish label, value) rows."""
    keys = [k for k in PLAN_LABELS if k in content]
    keys += sorted(k for k in content if k not in PLAN_LABELS and k not in HIDDEN_FACTS)
    return [(PLAN_LABELS.get(k, k), _shown(content[k])) for k in keys]


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_shown(v) for v in value)
    if isinstance(value, bool):
        return "ja" if value else "nej"
    return "" if value is None else str(value)


def context(
    kommun_name: str,
    account: Record,
    items: Sequence[Item],
    dropped: int,
    reason: Reason,
    now: datetime,
    rule: Snapshots,
) -> dict[str, Any]:
    """What snapshot.html renders: headings and labels are the template's, in Swedish."""
    return {
        "kommun": kommun_name,
        "account_id": account.account_id,
        "name": account.account_name,
        "platform": account.platform,
        "url": account.url,
        "reason": REASONS_SV[reason],
        "taken_at": local(now),
        "recent_days": rule.recent_days,
        "since": local(recent_since(now, rule)),
        "max_items": rule.max_items,
        "plan": plan_facts(account.content),
        "history": [(local(v.at), v.text) for v in account.versions],
        "items": items,
        "dropped": dropped,
    }

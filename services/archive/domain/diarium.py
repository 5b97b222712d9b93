"""The diarium: diary entries of registered records (P10.3, L5). Pure rules: no NATS, no
MongoDB.

A diary entry says that a record was registered, under which number, when, from whom
and what it is — never what it says: the summary names the kind of item, its author
kind, the account, the date and why it may be confidential, so the diarium itself (and
the `record.registered` event made from it) holds no secret content (L7). The record
stays sealed in the archive (P10.3).

Numbers are sequential without gaps per kommun and year (`seq` 1, 2, 3 …), in the
kommun's format (`kommun.archive.diarium.number_format`); the year is the registration
date's in Sweden, so a registration at 00:30 on New Year's Day takes the new year's 1.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from services.archive.domain.records import (
    AuthorKind,
    Origin,
    PlatformState,
    Record,
    RecordKind,
)
from shared.events import PLATFORM_NAMES
from shared.kommun import Diarium
from shared.personnummer import mask_personnummer

SWEDEN = ZoneInfo("Europe/Stockholm")
UNKNOWN_SENDER = "okänd avsändare"


@dataclass(frozen=True)
class DiaryEntry:
    """One record's registration. `id` is URL-safe (the number holds a space and '/')
    and unique per (kommun, year, seq): taking it is taking the number."""

    id: str
    kommun: str
    year: int
    seq: int
    number: str  # in the kommun's format, e.g. KS 2026/000123
    record_id: str
    account_id: str
    kind: RecordKind
    origin: Origin | None
    registered_at: datetime
    sender: str  # the author's name as the platform gives it, or "okänd avsändare"
    summary: str  # what it is, without its secret content (L7)
    reason: str  # what made it registered: an event's subject, or the registrar's reason
    confidential: bool  # registered because it may be confidential (P10.3, L5)


def year_of(at: datetime) -> int:
    """The diary year: the registration date's year in Swedish local time."""
    return at.astimezone(SWEDEN).year


def entry_id(kommun: str, year: int, seq: int) -> str:
    return f"{kommun}-{year}-{seq:06d}"


def diary_number(diarium: Diarium, year: int, seq: int) -> str:
    return diarium.number_format.format(year=year, seq=seq)


def should_register(record: Record, *, by_hand: bool = False) -> bool:
    """P10.3, L5: confidential content always, at once; any other record only when the
    registrar asks (registration is the main rule, keeping in order the alternative,
    P10.4), and never one of obviously minor importance (P10.7)."""
    if record.registration is not None:
        return False
    if record.awaits_registration:  # secret content: even a minor record (L5)
        return True
    return by_hand and not record.minor


def new_entry(
    record: Record, diarium: Diarium, seq: int, registered_at: datetime, reason: str
) -> DiaryEntry:
    """The record's entry under the year's number `seq`."""
    year = year_of(registered_at)
    return DiaryEntry(
        id=entry_id(record.kommun, year, seq),
        kommun=record.kommun,
        year=year,
        seq=seq,
        number=diary_number(diarium, year, seq),
        record_id=record.id,
        account_id=record.account_id,
        kind=record.kind,
        origin=record.origin,
        registered_at=registered_at,
        sender=sender_of(record),
        summary=summary_of(record),
        reason=reason,
        confidential=record.confidential,
    )


def sender_of(record: Record) -> str:
    """The author's name as the platform gives it; a personnummer used as a name is
    masked all the same (L7)."""
    name = record.author.name.strip() if record.author else ""
    return mask_personnummer(name) if name else UNKNOWN_SENDER


# Moderation's kinds of confidential data. Any other kind may be a word the kommun's
# word lists matched in the text (a diagnosis, say): it is never repeated, only counted
# as "other data" (L7).
_KINDS_OF_SECRET = {
    "personnummer": "personnummer",
    "samordningsnummer": "samordningsnummer",
    "health": "hälsouppgifter",
    "password": "lösenord",
    "credentials": "inloggningsuppgifter",
}
_GENERAL_KINDS = {"confidential", ""}
_OTHER_KINDS = "andra uppgifter"

_STATES = {
    PlatformState.PUBLISHED: "publicerad på plattformen",
    PlatformState.EDITED: "redigerad på plattformen",
    PlatformState.HIDDEN: "dold på plattformen",
    PlatformState.REMOVED: "borttagen från plattformen",
    PlatformState.DELETED: "raderad på plattformen",
}


def summary_of(record: Record) -> str:
    """What the record is, in Swedish, without its secret content: never its text, its
    links or a personnummer (L7), e.g. "Kommentar från allmänheten på Facebook-kontot
    kommunensida, 2026-11-23, kan innehålla uppgifter som omfattas av sekretess
    (personnummer); dold på plattformen"."""
    parts = [f"{_what(record)} {_where(record)}"]
    when = record.origin_at or record.first_at
    if when is not None:
        parts.append(when.astimezone(SWEDEN).date().isoformat())
    if record.confidential:
        parts.append(f"kan innehålla uppgifter som omfattas av sekretess ({_why_secret(record)})")
    summary = ", ".join(parts)
    if record.state is not None:
        summary += f"; {_STATES[record.state]}"
    # Account names and kinds come from the platform and moderation: mask all the same.
    return mask_personnummer(summary)


def _what(record: Record) -> str:
    if record.kind is RecordKind.ACCOUNT:
        return "Verksamhetsplan för kontot och dess ändringar"
    noun = "Inlägg" if record.kind is RecordKind.POST else "Kommentar"
    if record.author is None:  # its own event not yet kept
        return f"{noun} (avsändaren ännu okänd)"
    if record.author.kind is AuthorKind.KOMMUN:
        return f"{noun} från kommunen"
    return f"{noun} från allmänheten"


def _where(record: Record) -> str:
    platform = PLATFORM_NAMES.get(record.platform, "")
    account = record.account_name or record.account_id
    return f"på {platform}-kontot {account}" if platform else f"på kontot {account}"


def _why_secret(record: Record) -> str:
    named = [_KINDS_OF_SECRET[k] for k in record.confidential_kinds if k in _KINDS_OF_SECRET]
    other = {k for k in record.confidential_kinds if k not in _KINDS_OF_SECRET} - _GENERAL_KINDS
    kinds = [*named, *([_OTHER_KINDS] if other else [])]
    if kinds:
        return ", ".join(kinds)
    return "enligt bedömning" if record.confidential_kinds else "enligt moderatorns beslut"

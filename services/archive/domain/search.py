"""Requests for public records (L4): what a search asks, and what a caller may see (L7).

`record_fields` are the query fields the store keeps beside each record, computed from
it by every write (shared.unit_of_work.Mapper's `derived`), so they never lag behind it.

Words in the text. A record's words are a derived array: every version's text (an
edited-away word stays findable, L4) split into words, casefolded, Unicode NFC, Swedish
å ä ö kept as themselves, each word once. A search asks for all its words with `$all`.
Why this representation (measured on nx-27017 0.8.1 and MongoDB's documented semantics):
- `$all` on an array is answered alike by both, with and without an index on the array
  (nx-27017 answers *element equality* on an indexed array wrongly, `$all`/`$in` right;
  tests/integration/test_store_conformance.py). MongoDB serves it from a multikey index.
  nx-27017 evaluates it in SQLite (json_each per row) while reading the account's
  records: the word costs little there, since nx-27017 sorts and limits in Python after
  reading every match of the other filters anyway (a plain indexed find of 100 sorted
  records costs as much as the word search; a date range or `$in` on a day field costs
  more). bench/archive_search.py measures it.
- a `$text` index is not: MongoDB ORs the terms, stems by language and folds diacritics
  (ä = a), nx-27017 ANDs them through SQLite; "snö" would find "sno" on both.
- `$regex` over a derived string is right on both but never served by an index on
  either (a Python callback per row in nx-27017): no faster than `$all`, and slower on
  MongoDB.
- a separate terms collection (one document per word and record) finds a rare word
  fast on both, but must be written beside every record write outside the record's own
  document (no transactions on nx-27017: it can fall out of step), costs a dozen writes
  per record (15 million documents for a busy account's year), and does not help the
  sorting and the filters by account, date and state, which cost the most on nx-27017.

Two word lists are kept: `words` for the registrar, who sees everything, and
`open_words` from the text as everyone else sees it (masked, `shown`): otherwise a
search for a secret word would reveal that a sealed record holds it (L7). A
personnummer is never a word of either (L7: not even the registrar searches by one).

Masking (L7, OSL): unless the caller is the registrar, every valid personnummer or
samordningsnummer and every passage a registrar marked is masked, and a sealed record
(may hold secret content, P10.3) shows no text at all.
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from services.archive.domain.records import (
    AuthorKind,
    Origin,
    PlatformState,
    Record,
    RecordKind,
    Version,
)
from shared.personnummer import find_personnummer
from shared.principal import Role
from shared.rules import Violation

UNKNOWN = "unknown"  # not yet known: the item's own event has not been kept yet

PAGE_LIMIT = 500  # records on one page of a search
EXPORT_LIMIT = 50_000  # records in one export: narrow the filters for more

PERSONNUMMER_MASK = "[personnummer]"
PASSAGE_MASK = "[sekretess]"

_WORD = re.compile(r"\w+", re.UNICODE)


def words_of(text: str) -> list[str]:
    """The text's words, normalised as stored, in order of first appearance, once each.
    Personnummer are left out (L7)."""
    spans = find_personnummer(text)
    for start, end in reversed(spans):
        text = text[:start] + " " + text[end:]
    seen: dict[str, None] = {}
    for match in _WORD.finditer(unicodedata.normalize("NFC", text).casefold()):
        seen.setdefault(match.group(), None)
    return list(seen)


def _all_words(texts: Iterable[str]) -> list[str]:
    return sorted({word for text in texts for word in words_of(text)})


def dated(record: Record) -> datetime | None:
    """When a record is dated for a request: from when it is inkommen or upprättad (L4),
    else its earliest fact."""
    return record.origin_at or record.first_at


def record_fields(record: Record) -> dict[str, Any]:
    # Never null: nx-27017 counts an explicit null wrongly (README, "Store").
    return {
        "state": record.state.value if record.state else UNKNOWN,
        "author_kind": record.author.kind.value if record.author else UNKNOWN,
        "awaits_registration": record.awaits_registration,
        "origin_kind": record.origin.value if record.origin else UNKNOWN,
        "dated": dated(record),
        "words": _all_words(v.text for v in record.versions),
        "open_words": []
        if record.sealed
        else _all_words(masked_text(record, v, blank=True) for v in record.versions),
    }


def is_registrar(roles: Iterable[Role]) -> bool:
    return Role.REGISTRAR in set(roles)


# Masking (L7, OSL)


def sealed_text(record: Record) -> str:
    if record.registration is not None:
        return f"[sekretess – registrerad {record.registration.diary_number}]"
    return "[sekretess – väntar på registrering]"


def _merged(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping spans as one; a span that merged a mark is masked as a passage."""
    merged: list[tuple[int, int, str]] = []
    for start, end, label in sorted(spans):
        if merged and start < merged[-1][1]:
            s, e, previous = merged[-1]
            both = previous if previous == label else PASSAGE_MASK
            merged[-1] = (s, max(e, end), both)
        else:
            merged.append((start, end, label))
    return merged


def masked_text(record: Record, version: Version, *, blank: bool = False) -> str:
    """One version's text as a caller other than the registrar sees it (with `blank`,
    each masked passage a space: the words others may search by)."""
    if record.sealed:
        return sealed_text(record)
    text = version.text
    spans = [(s, e, PERSONNUMMER_MASK) for s, e in find_personnummer(text)]
    spans += [
        (max(0, m.start), min(len(text), m.end), PASSAGE_MASK)
        for m in record.marks
        if m.covers(version) and m.start < len(text)
    ]
    for start, end, label in reversed(_merged(spans)):
        text = text[:start] + (" " if blank else label) + text[end:]
    return text


def shown(record: Record, *, registrar: bool) -> Record:
    """The record as the caller may see it: everything for the registrar (OSL); for
    anyone else its versions' texts masked, and a sealed record's without text or links."""
    if registrar:
        return record
    versions = tuple(
        replace(
            v,
            text=masked_text(record, v),
            links=() if record.sealed else v.links,
        )
        for v in record.versions
    )
    return replace(record, versions=versions)


# Marks (L7, OSL)


def mark_violations(
    record: Record, version: int, start: int, end: int, reason: str
) -> list[Violation]:
    """What is wrong with a mark on this record, each naming its field."""
    numbers = {v.number: v for v in record.versions}
    wrong: list[Violation] = []
    if version not in numbers:
        return [
            Violation(
                "version",
                "L7",
                f"Handlingen har ingen version {version} (den har {len(numbers)}).",
                f"the record has no version {version} (it has {len(numbers)})",
            )
        ]
    length = len(numbers[version].text)
    if not 0 <= start < end <= length:
        field = "start" if not 0 <= start < length else "end"
        wrong.append(
            Violation(
                field,
                "L7",
                f"Stället ska ligga inom versionens text: 0 ≤ start < end ≤ {length}.",
                f"the passage must lie within the version's text: 0 ≤ start < end ≤ {length}",
            )
        )
    if not reason.strip():
        wrong.append(
            Violation(
                "reason",
                "L7",
                "Ange skälet till sekretess (t.ex. lagrum i OSL).",
                "give the reason for secrecy (e.g. the OSL provision)",
            )
        )
    return wrong


# What a search asks


@dataclass(frozen=True)
class Filters:
    """A request's filters (L4): all that are given must hold."""

    account_id: str | None = None
    since: datetime | None = None  # dated at or after
    until: datetime | None = None  # dated before
    author_kind: AuthorKind | None = None  # P10.6
    state: PlatformState | None = None  # on the platform, latest (L6)
    kind: RecordKind | None = None
    origin: Origin | None = None  # inkommen or upprättad (L4)
    words: tuple[str, ...] = ()  # normalised as stored; all must occur in some version

    def described(self) -> dict[str, Any]:
        """The filters as the access log keeps them (only those given)."""
        values = {
            "account_id": self.account_id,
            "since": self.since,
            "until": self.until,
            "author_kind": self.author_kind.value if self.author_kind else None,
            "state": self.state.value if self.state else None,
            "kind": self.kind.value if self.kind else None,
            "origin": self.origin.value if self.origin else None,
            "words": list(self.words) or None,
        }
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after this (dated, id)."""

    dated: datetime
    record_id: str

"""The hash chain that makes the archive provably unaltered: one chain per account.

Every fact the archive keeps is one `Entry`, appended after the account's last one and
never changed. Its `content_sha256` is the SHA-256 of the fact's canonical JSON (RFC 8785,
the `rfc8785` library); its `hash` is the SHA-256 of the canonical link (the entry's
place, its content hash and the previous entry's hash). Change one stored byte of a
fact, a link or a record folded from them and `check` names the first broken link.

Culling (P10.2, L6) removes a fact's content but leaves the entry as a tombstone with its
hashes: the chain still links, and the culling log that names the entry and its hash
proves what went and why. The same is kept as a culling fact later in the account's own
chain, so a forged log beside the chain proves no tombstone: both must name it.

Deleting entries from the end of a chain leaves what remains linking; each account's
head `Anchor` (its latest place and hash, kept apart) shows the chain short. Whoever can
rewrite the anchor as well can hide that: only a copy of the anchors held outside the
archive's database (a witness) defends against it.
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

import rfc8785

from services.archive.domain.records import Fact, FactKind, Record, fold, of_a_record, stored_time

GENESIS = "0" * 64


@dataclass(frozen=True)
class Entry:
    id: str  # "<kommun>:<account>:<seq>", seq zero-padded so ids sort in chain order
    kommun: str
    account_id: str
    seq: int  # 1, 2, 3 … without gaps per account
    event_id: str  # unique per kommun: a fact is kept once
    record_id: str
    recorded_at: datetime  # when the archive kept it
    content_sha256: str
    prev: str  # the previous entry's hash, GENESIS for the first
    hash: str
    fact: Fact | None  # None once culled
    culled_by: str | None = None  # the culling log entry that removed its content


def entry_id(kommun: str, account_id: str, seq: int) -> str:
    return f"{kommun}:{account_id}:{seq:012d}"


def _canonical(value: Any) -> bytes:
    return rfc8785.dumps(_jsonable(value))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return stored_time(value).isoformat(timespec="milliseconds")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "value") and isinstance(value.value, str):  # an enum
        return value.value
    return value


def content_hash(fact: Fact) -> str:
    return hashlib.sha256(_canonical(asdict(fact))).hexdigest()


def link_hash(
    kommun: str,
    account_id: str,
    seq: int,
    event_id: str,
    recorded_at: datetime,
    content_sha256: str,
    prev: str,
) -> str:
    link = {
        "kommun": kommun,
        "account_id": account_id,
        "seq": seq,
        "event_id": event_id,
        "recorded_at": recorded_at,
        "content_sha256": content_sha256,
        "prev": prev,
    }
    return hashlib.sha256(_canonical(link)).hexdigest()


class Head(Protocol):
    """Where a chain ends: its last entry, or that entry's anchor."""

    @property
    def seq(self) -> int: ...

    @property
    def hash(self) -> str: ...


def append(kommun: str, head: Head | None, fact: Fact, recorded_at: datetime) -> Entry:
    """The entry that keeps `fact` after `head`, the account's end (None: its first)."""
    seq = head.seq + 1 if head else 1
    recorded_at = stored_time(recorded_at)
    prev = head.hash if head else GENESIS
    content = content_hash(fact)
    return Entry(
        id=entry_id(kommun, fact.account_id, seq),
        kommun=kommun,
        account_id=fact.account_id,
        seq=seq,
        event_id=fact.event_id,
        record_id=fact.record_id,
        recorded_at=recorded_at,
        content_sha256=content,
        prev=prev,
        hash=link_hash(kommun, fact.account_id, seq, fact.event_id, recorded_at, content, prev),
        fact=fact,
    )


@dataclass(frozen=True)
class Broken:
    """The first link that does not hold, and why."""

    entry: str
    reason: str

    def __str__(self) -> str:
        return f"{self.entry}: {self.reason}"


@dataclass(frozen=True)
class Anchor:
    """An account's head as last kept: its latest entry's place and hash, written after
    each entry (store.records). The chain may run past it (an entry kept since, or a
    crash between the two writes), never end before it: entries deleted from the end
    of a chain, with their records, leave the chain linking but short of its anchor."""

    kommun: str
    account_id: str
    seq: int
    hash: str


def culling_covers(fact: Fact) -> dict[str, tuple[str, str]]:
    """Entry id → (hash, culling log id) for every entry a chained culling fact names."""
    if fact.kind is not FactKind.CULLED:
        return {}
    log_id = str(fact.data.get("log_id", ""))
    return {
        str(e["id"]): (str(e["hash"]), log_id)
        for e in fact.data.get("entries") or ()
        if isinstance(e, dict) and "id" in e and "hash" in e
    }


class ChainCheck:
    """Checks one account's entries fed in chain order; `finish` names the first broken
    link. Feed the whole chain, past a break too: a tombstone is proved only by a
    culling fact kept later in the same chain (P10.2, L6).

    `culled`: entry id → hash, as the culling logs list them; a tombstone must be there,
    and a chained culling fact of the log that made it (`culled_by`) must name it with
    that hash. It may be given to `finish` instead, read after the chain: a culling log
    is written before its tombstones, so every tombstone fed is then listed. Two logs
    may name one entry (two replicas planning overlapping work): either proves it.
    `anchor`: the account's head anchor, read before the entries; the chain may not end
    before it.
    """

    def __init__(
        self, culled: Mapping[str, str] | None = None, anchor: Anchor | None = None
    ) -> None:
        self._culled = culled
        self._anchor = anchor
        self._prev = GENESIS
        self._next_seq = 1
        self._structural: Broken | None = None
        self._tombstones: list[Entry] = []  # checked against the logs and facts at the end
        self._covers: dict[str, set[tuple[str, str]]] = {}
        self._last: Entry | None = None
        self._at_anchor: Entry | None = None

    def add(self, entry: Entry) -> None:
        if self._structural is None:
            self._structural = self._check(entry)
            if entry.fact is None and self._structural is None:
                self._tombstones.append(entry)
            self._prev, self._next_seq = entry.hash, entry.seq + 1
        if entry.fact is not None and content_hash(entry.fact) == entry.content_sha256:
            for covered, proof in culling_covers(entry.fact).items():
                self._covers.setdefault(covered, set()).add(proof)
        if self._anchor is not None and entry.seq == self._anchor.seq:
            self._at_anchor = entry
        self._last = entry

    @property
    def intact_so_far(self) -> bool:
        """No link broken yet (tombstones are judged at the end)."""
        return self._structural is None

    def finish(self, culled: Mapping[str, str] | None = None) -> Broken | None:
        """The earliest broken link of the chain fed, or None. `culled`: as for the
        constructor, read after the chain (it replaces the one given there)."""
        listed = culled if culled is not None else self._culled or {}
        found = [b for b in (self._structural, self._uncovered(listed), self._short()) if b]
        return min(found, key=lambda b: b.entry) if found else None

    def _uncovered(self, culled: Mapping[str, str]) -> Broken | None:
        for entry in self._tombstones:
            if culled.get(entry.id) != entry.hash:
                return Broken(entry.id, "content gone but no culling log lists this entry")
            if (entry.hash, entry.culled_by or "") not in self._covers.get(entry.id, ()):
                return Broken(entry.id, "content gone but no chained culling fact covers it")
        return None

    def _short(self) -> Broken | None:
        anchor = self._anchor
        if anchor is None:
            return None
        last = self._last.seq if self._last is not None else 0
        if last < anchor.seq:
            return Broken(
                entry_id(anchor.kommun, anchor.account_id, last + 1),
                f"missing: the chain ends at sequence {last} but its head anchor names "
                f"sequence {anchor.seq} (entries deleted from its end)",
            )
        if self._at_anchor is not None and self._at_anchor.hash != anchor.hash:
            return Broken(self._at_anchor.id, "its hash differs from the account's head anchor")
        return None

    def _check(self, entry: Entry) -> Broken | None:
        if entry.seq != self._next_seq:
            return Broken(entry.id, f"sequence {entry.seq} where {self._next_seq} was due (gap)")
        if entry.id != entry_id(entry.kommun, entry.account_id, entry.seq):
            return Broken(entry.id, "its id does not name its place in the chain")
        if entry.prev != self._prev:
            return Broken(entry.id, "prev does not match the previous entry's hash")
        if entry.fact is not None:
            if content_hash(entry.fact) != entry.content_sha256:
                return Broken(entry.id, "content changed: its SHA-256 no longer matches")
            if entry.fact.event_id != entry.event_id or entry.fact.record_id != entry.record_id:
                return Broken(entry.id, "the fact's ids differ from the entry's")
        recomputed = link_hash(
            entry.kommun,
            entry.account_id,
            entry.seq,
            entry.event_id,
            entry.recorded_at,
            entry.content_sha256,
            entry.prev,
        )
        if recomputed != entry.hash:
            return Broken(entry.id, "link changed: its hash no longer matches")
        return None


def check(
    entries: Iterable[Entry], culled: Mapping[str, str], anchor: Anchor | None = None
) -> Broken | None:
    """One account's entries in chain order: the first broken link, or None."""
    checking = ChainCheck(culled, anchor)
    for entry in entries:
        checking.add(entry)
    return checking.finish()


def refold(entries: Iterable[Entry], kommun: str) -> Record | None:
    """The record its entries fold to (one record's, in chain order); None when every
    fact of it was culled."""
    record: Record | None = None
    for entry in entries:
        if entry.fact is not None and of_a_record(entry.fact):
            record = fold(record, entry.fact, entry.id, kommun)
    return record

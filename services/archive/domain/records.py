"""Public records: each post, comment and account plan, folded from the facts the archive
learned about it. Pure rules: no NATS, no MongoDB.

A `Fact` is what one event (or one of the archive's own acts, such as a registration)
says about one record; it is kept in the account's hash chain (domain.chain) and never
changed. A `Record` is the fold of its facts in the order they were kept: every version
of its text, who wrote it and whether that is the kommun or a member of the public
(P10.6), whether it is upprättad or inkommen and from when (L4), and, apart from the
record itself, its states on the platform (L6: hiding or removing never removes it from
the archive). Versions and states are ordered by when they happened on the platform, so
an edit kept before its comment still ends the history right.
"""

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.events import (
    AccountActivated,
    AccountApproved,
    AccountClosed,
    AccountCreated,
    AccountUpdated,
    CommentConfidential,
    CommentDeleted,
    CommentEdited,
    CommentFlagged,
    CommentReceived,
    CommentRemoved,
    Event,
    ModerationDecided,
    ModerationEscalated,
    PostPublished,
)
from shared.kommun import MinorImportance


class Origin(StrEnum):
    """OSL 5 kap. 1 §, TF 2 kap.: received by the kommun or drawn up by it (P10.4, L4)."""

    RECEIVED = "inkommen"
    DRAWN_UP = "upprättad"


class RecordKind(StrEnum):
    ACCOUNT = "account"  # the account's activity plan and its changes
    POST = "post"
    COMMENT = "comment"


class AuthorKind(StrEnum):
    """P10.6: an official's post is always told from a member of the public's."""

    KOMMUN = "kommun"
    PUBLIC = "public"


class PlatformState(StrEnum):
    """The item on the platform: never the record's state (L6)."""

    PUBLISHED = "published"
    EDITED = "edited"
    HIDDEN = "hidden"
    REMOVED = "removed"  # by Kanalvakt under the policy (P5.2)
    DELETED = "deleted"  # on the platform, by its author or outside Kanalvakt


class FactKind(StrEnum):
    """What a fact says; the event it came from is `Fact.event_type`."""

    WRITTEN = "written"  # post.published, comment.received
    EDITED = "edited"
    DELETED = "deleted"  # comment.deleted
    REMOVED = "removed"  # comment.removed
    CONFIDENTIAL = "confidential"  # comment.confidential
    FLAGGED = "flagged"  # comment.flagged
    DECIDED = "decided"  # moderation.decided
    ESCALATED = "escalated"  # moderation.escalated
    ACCOUNT = "account"  # account.created/approved/activated/updated/closed
    REGISTERED = "registered"  # the archive registered it in the diarium (P10.3)
    MARKED = "marked"  # a registrar marked a secret passage (L4, L7)
    # The archive culled records of the account (P10.2, L6): kept in the account's chain
    # so that the chain itself proves each tombstone, never folded into a record.
    CULLED = "culled"


@dataclass(frozen=True)
class Fact:
    """One event's say about one record, as kept in the chain. `data` is the event's data
    as JSON (or the archive's own act's), `at` when it happened on the platform or in
    the kommun, `event_id` unique: a fact is kept once however often it is delivered."""

    event_id: str
    event_type: str
    kind: FactKind
    record_id: str
    record_kind: RecordKind
    account_id: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    minor: bool = False  # P10.7: judged when the archive first kept it


@dataclass(frozen=True)
class Author:
    id: str
    name: str
    kind: AuthorKind


@dataclass(frozen=True)
class Version:
    """One text of the item as it was on the platform from `at`."""

    number: int
    text: str
    at: datetime
    entry: str  # the chain entry that kept it
    links: tuple[str, ...] = ()


@dataclass(frozen=True)
class StateChange:
    state: PlatformState
    at: datetime
    entry: str
    by: str = ""  # who acted: a moderator's subject, or empty for the platform
    category: str | None = None
    rules: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Decision:
    """What moderation decided on the item, and under which rules (P5.2–P5.10, P6)."""

    case_id: str
    resolution: str
    category: str | None
    rules: tuple[str, ...]
    reason: str
    by: str
    at: datetime
    entry: str


@dataclass(frozen=True)
class Mark:
    """A passage a registrar marked secret (OSL), masked for everyone else (L4, L7).

    `version` is the number the registrar saw; `version_entry` names that version for
    good: numbers shift when an earlier version is kept late (events out of order)."""

    version: int
    start: int
    end: int
    reason: str
    by: str
    at: datetime
    entry: str
    version_entry: str = ""

    def covers(self, version: "Version") -> bool:
        if self.version_entry:
            return self.version_entry == version.entry
        return self.version == version.number


@dataclass(frozen=True)
class Registration:
    """The record's diary entry (P10.3, L5)."""

    diary_number: str
    registered_at: datetime
    entry: str


@dataclass(frozen=True)
class Record:
    id: str
    kommun: str  # whose public record
    kind: RecordKind
    account_id: str
    account_name: str = ""
    platform: str = ""
    title: str = ""
    author: Author | None = None  # unknown until the item's own event is kept
    origin: Origin | None = None
    origin_at: datetime | None = None  # from when it is inkommen or upprättad (L4)
    post_id: str = ""
    reply_to: str = ""
    url: str = ""
    versions: tuple[Version, ...] = ()
    states: tuple[StateChange, ...] = ()
    decisions: tuple[Decision, ...] = ()
    flagged: tuple[str, ...] = ()  # categories the rules or a report gave (P5.2, P5.8)
    escalated: bool = False
    confidential: bool = False  # may hold secret content: registered at once (P10.3)
    confidential_kinds: tuple[str, ...] = ()
    hidden_at_once: bool = False
    marks: tuple[Mark, ...] = ()
    registration: Registration | None = None
    minor: bool = False  # P10.7: of obviously minor importance, not registered
    content: dict[str, Any] = field(default_factory=dict)  # an account's latest plan facts
    closed_at: datetime | None = None  # an account's closing: final in the registry
    first_at: datetime | None = None  # the earliest fact's time
    last_at: datetime | None = None  # the latest fact's time
    entries: tuple[str, ...] = ()  # every chain entry folded into it, in order

    @property
    def text(self) -> str:
        return self.versions[-1].text if self.versions else ""

    @property
    def state(self) -> PlatformState | None:
        return self.states[-1].state if self.states else None

    @property
    def category(self) -> str | None:
        """The category the latest decision or removal, else the rules, gave it."""
        for categories in ([d.category for d in self.decisions], [s.category for s in self.states]):
            named = [category for category in categories if category]
            if named:
                return named[-1]
        return self.flagged[0] if self.flagged else None

    @property
    def awaits_registration(self) -> bool:
        """P10.3: confidential content is registered at once; until then this is true."""
        return self.confidential and self.registration is None

    @property
    def sealed(self) -> bool:
        """Its text is secret as a whole: shown to the registrar only (P10.3, L7)."""
        return self.confidential


def stored_time(at: datetime) -> datetime:
    """UTC to the millisecond, as the store keeps a datetime: a fact hashes the same
    before it is stored and after it is read back."""
    return at.astimezone(UTC).replace(microsecond=at.microsecond // 1000 * 1000)


def record_id_of_account(account_id: str) -> str:
    return f"account-{account_id}"


_WORD = re.compile(r"\w", re.UNICODE)


def is_minor(text: str, links: list[str] | tuple[str, ...], rule: MinorImportance) -> bool:
    """P10.7, L5: a reaction, an emoji or a configured phrase of thanks, and no link."""
    if links:
        return False
    if rule.without_words and not _WORD.search(text):
        return True
    plain = text.strip().strip(".!?,;:…").strip().casefold()
    return any(plain == t.strip().strip(".!?,;:…").strip().casefold() for t in rule.texts)


def empty(fact: Fact, kommun: str) -> Record:
    return Record(
        id=fact.record_id, kommun=kommun, kind=fact.record_kind, account_id=fact.account_id
    )


def fold(record: Record | None, fact: Fact, entry: str, kommun: str) -> Record:
    """The record with one more fact (kept in chain entry `entry`); the same facts in the
    same order always fold to the same record, which is how `verify` re-checks it. A
    culling fact is of no record (`of_a_record`): it is never folded."""
    if not of_a_record(fact):
        raise ValueError(f"fact {fact.event_id}: a {fact.kind.value} fact is of no record")
    current = record or empty(fact, kommun)
    if entry in current.entries:
        return current
    current = replace(
        current,
        entries=(*current.entries, entry),
        first_at=min(filter(None, (current.first_at, fact.at))),
        last_at=max(filter(None, (current.last_at, fact.at))),
        minor=current.minor or fact.minor,
    )
    return _FOLDS[fact.kind](current, fact, entry)


def of_a_record(fact: Fact) -> bool:
    """Whether the fact is folded into a record: every fact but a culling fact, which
    belongs to the account's chain alone, so that searches and counts never see it."""
    return fact.kind is not FactKind.CULLED


def _sorted_versions(versions: tuple[Version, ...]) -> tuple[Version, ...]:
    ordered = sorted(versions, key=lambda v: (v.at, v.entry))
    return tuple(replace(v, number=i) for i, v in enumerate(ordered, start=1))


def _with_state(record: Record, change: StateChange) -> Record:
    return replace(
        record, states=tuple(sorted((*record.states, change), key=lambda s: (s.at, s.entry)))
    )


def _written(record: Record, fact: Fact, entry: str) -> Record:
    d = fact.data
    author = d.get("author") or {}
    by_kommun = bool(author.get("is_kommun")) or fact.record_kind is RecordKind.POST
    at = fact.at
    version = Version(0, d.get("text", ""), at, entry, tuple(d.get("links") or ()))
    record = replace(
        record,
        kind=fact.record_kind,  # an edit kept first could not tell a post from a comment
        account_name=d.get("account_name", record.account_name),
        platform=d.get("platform", record.platform),
        author=Author(
            str(author.get("id", "")),
            str(author.get("name", "")),
            AuthorKind.KOMMUN if by_kommun else AuthorKind.PUBLIC,
        ),
        # L4: the kommun's own is upprättad when published, a visitor's inkommen.
        origin=Origin.DRAWN_UP if by_kommun else Origin.RECEIVED,
        origin_at=at,
        post_id=d.get("post_id", ""),
        reply_to=d.get("reply_to", ""),
        url=d.get("url", ""),
        versions=_sorted_versions((*record.versions, version)),
    )
    return _with_state(record, StateChange(PlatformState.PUBLISHED, at, entry))


def _edited(record: Record, fact: Fact, entry: str) -> Record:
    version = Version(0, fact.data.get("text", ""), fact.at, entry)
    record = replace(record, versions=_sorted_versions((*record.versions, version)))
    return _with_state(record, StateChange(PlatformState.EDITED, fact.at, entry))


def _deleted(record: Record, fact: Fact, entry: str) -> Record:
    state = PlatformState.HIDDEN if fact.data.get("how") == "hidden" else PlatformState.DELETED
    return _with_state(record, StateChange(state, fact.at, entry))


def _removed(record: Record, fact: Fact, entry: str) -> Record:
    d = fact.data
    state = PlatformState.HIDDEN if d.get("how") == "hidden" else PlatformState.REMOVED
    change = StateChange(
        state,
        fact.at,
        entry,
        by=str((d.get("by") or {}).get("subject", "")),
        category=d.get("category"),
        rules=tuple(d.get("rules") or ()),
        reason=d.get("reason", ""),
    )
    return _with_state(record, change)


def _confidential(record: Record, fact: Fact, entry: str) -> Record:
    d = fact.data
    kinds = tuple(sorted({*record.confidential_kinds, *(d.get("kinds") or ())}))
    record = replace(
        record,
        confidential=True,
        confidential_kinds=kinds,
        hidden_at_once=record.hidden_at_once or bool(d.get("hidden")),
    )
    if d.get("hidden"):
        change = StateChange(PlatformState.HIDDEN, fact.at, entry, rules=("P7", "P10.3"))
        record = _with_state(record, change)
    return record


def _flagged(record: Record, fact: Fact, entry: str) -> Record:
    categories = tuple(c for c in fact.data.get("categories") or () if c not in record.flagged)
    return replace(record, flagged=(*record.flagged, *categories))


def _decided(record: Record, fact: Fact, entry: str) -> Record:
    d = fact.data
    decision = Decision(
        case_id=d.get("case_id", ""),
        resolution=d.get("resolution", ""),
        category=d.get("category"),
        rules=tuple(d.get("rules") or ()),
        reason=d.get("reason", ""),
        by=str((d.get("by") or {}).get("subject", "")),
        at=fact.at,
        entry=entry,
    )
    decisions = tuple(sorted((*record.decisions, decision), key=lambda x: (x.at, x.entry)))
    # A moderator's decision that it is confidential makes it registered at once (P10.3).
    confidential = record.confidential or decision.category == "confidential"
    return replace(record, decisions=decisions, confidential=confidential)


def _escalated(record: Record, fact: Fact, entry: str) -> Record:
    return replace(record, escalated=True)


def _account(record: Record, fact: Fact, entry: str) -> Record:
    """An account's plan and its changes: drawn up by the kommun (P3.6, P10.1, L4). Facts
    may be folded out of time order (account.updated handled before account.created): the
    profile is the latest fact's, the author the plan's submitter, the origin the earliest."""
    d = fact.data
    version = Version(0, _account_line(fact), fact.at, entry)
    versions = _sorted_versions((*record.versions, version))
    latest = versions[-1].entry == entry  # this fact is the newest account fact so far
    content = {**record.content, **d} if latest else {**d, **record.content}
    # Closing is final: an update redelivered or stamped later does not reopen it.
    closing = fact.at if fact.event_type == "account.closed" else None
    author = record.author
    if fact.event_type == "account.created" or author is None:
        author = Author(str(d.get("submitted_by", "")), "", AuthorKind.KOMMUN)
    name, platform = content.get("name", ""), content.get("platform", "")
    return replace(
        record,
        account_name=name,
        platform=platform,
        title=f"Verksamhetsplan för {name} ({platform}), {content.get('department', '')}",
        author=author,
        origin=Origin.DRAWN_UP,
        origin_at=min(filter(None, (record.origin_at, fact.at))),
        url=str(content.get("url", "")),
        versions=versions,
        content=content,
        closed_at=min(filter(None, (record.closed_at, closing))) if closing else record.closed_at,
    )


_ACCOUNT_LINES = {
    "account.created": "Verksamhetsplan inlämnad",
    "account.approved": "Verksamhetsplan godkänd",
    "account.activated": "Kontot aktiverat",
    "account.updated": "Kontot eller planen ändrad",
    "account.closed": "Kontot avslutat",
}


def _account_line(fact: Fact) -> str:
    line = _ACCOUNT_LINES.get(fact.event_type, fact.event_type)
    changes = fact.data.get("changes")
    return f"{line}: {', '.join(changes)}" if changes else line


def _registered(record: Record, fact: Fact, entry: str) -> Record:
    if record.registration is not None:
        return record  # one diary number per record
    d = fact.data
    return replace(record, registration=Registration(d["diary_number"], fact.at, entry))


def _marked(record: Record, fact: Fact, entry: str) -> Record:
    d = fact.data
    mark = Mark(
        int(d["version"]),
        int(d["start"]),
        int(d["end"]),
        d.get("reason", ""),
        d.get("by", ""),
        fact.at,
        entry,
        d.get("version_entry", ""),
    )
    return replace(record, marks=(*record.marks, mark))


_FOLDS = {
    FactKind.WRITTEN: _written,
    FactKind.EDITED: _edited,
    FactKind.DELETED: _deleted,
    FactKind.REMOVED: _removed,
    FactKind.CONFIDENTIAL: _confidential,
    FactKind.FLAGGED: _flagged,
    FactKind.DECIDED: _decided,
    FactKind.ESCALATED: _escalated,
    FactKind.ACCOUNT: _account,
    FactKind.REGISTERED: _registered,
    FactKind.MARKED: _marked,
}


AccountEvent = AccountCreated | AccountApproved | AccountActivated | AccountUpdated | AccountClosed
ItemEvent = (
    PostPublished
    | CommentReceived
    | CommentEdited
    | CommentDeleted
    | CommentRemoved
    | CommentConfidential
    | CommentFlagged
    | ModerationDecided
    | ModerationEscalated
)


def fact_of(event: Event, minor_rule: MinorImportance) -> Fact:
    """The fact an event states about its record; the event's own data is kept as it came."""
    data = event.data.model_dump(mode="json")
    if isinstance(
        event, AccountCreated | AccountApproved | AccountActivated | AccountUpdated | AccountClosed
    ):
        account_id = data["account_id"]
        return Fact(
            event.id,
            event.nats_subject,
            FactKind.ACCOUNT,
            record_id_of_account(account_id),
            RecordKind.ACCOUNT,
            account_id,
            stored_time(event.time),
            data,
        )
    kind, at, minor = _ITEM_FACTS[type(event)], event.time, False
    if isinstance(event, PostPublished | CommentReceived):
        at = event.data.created_at
        minor = not isinstance(event, PostPublished) and is_minor(
            event.data.text, event.data.links, minor_rule
        )
    elif isinstance(event, CommentEdited):
        at = event.data.edited_at
    elif isinstance(
        event, CommentDeleted | CommentRemoved | CommentConfidential | ModerationDecided
    ):
        at = event.data.at
    record_kind = RecordKind.POST if isinstance(event, PostPublished) else RecordKind.COMMENT
    return Fact(
        event.id,
        event.nats_subject,
        kind,
        data["comment_id"],
        record_kind,
        data["account_id"],
        stored_time(at),
        data,
        minor,
    )


_ITEM_FACTS: dict[type[Event], FactKind] = {
    PostPublished: FactKind.WRITTEN,
    CommentReceived: FactKind.WRITTEN,
    CommentEdited: FactKind.EDITED,
    CommentDeleted: FactKind.DELETED,
    CommentRemoved: FactKind.REMOVED,
    CommentConfidential: FactKind.CONFIDENTIAL,
    CommentFlagged: FactKind.FLAGGED,
    ModerationDecided: FactKind.DECIDED,
    ModerationEscalated: FactKind.ESCALATED,
}

"""Comments and their cases: pure rules, no NATS, no MongoDB, no HTTP.

Every comment is kept with how the rules classified it. One labelled `remove` or
`answer`, or reported by a person or another system, opens a case (one per comment):
an owner, a state and a deadline counted in the account's monitored hours (B1 item 7,
P5.3). A moderator claims and decides it; every action lands in the case's audit trail
(who, when, what, why) in the same write as the change, so the trail is never behind.

P3.7: a free and open dialogue, but threats and offensive comments are countered: only
the categories in REMOVABLE can take a comment down, and a crime escalates at once.

Decisions (P5.2–P5.4, P5.9, P5.10, P6):
- remove / hide need a policy category that allows removal; criticism never does (P6);
- a personal attack is removed, never answered (P5.9);
- answer records the reply that is sent (P5.3); correct records the correction (P5.10);
- forward names the case officer best suited to answer (P5.4).
Threats, hate speech, unlawful violence and child abuse material escalate at once to the
säkerhetssamordnare and the superior manager with a police-report draft (P5.8, L3);
confidential content is hidden at once and announced for registration (P7, P10.3).
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from services.moderation.domain.accounts import WatchedAccount
from services.moderation.domain.calendar import due
from services.moderation.domain.classification import PRIORITY
from shared.events import (
    Actor,
    Author,
    Category,
    CommentConfidential,
    CommentConfidentialData,
    CommentFlagged,
    CommentFlaggedData,
    CommentRemoved,
    CommentRemovedData,
    DeadlineData,
    Event,
    Evidence,
    ItemData,
    Label,
    ModerationDecided,
    ModerationDecidedData,
    ModerationEscalated,
    ModerationEscalatedData,
    PersonRef,
    PoliceReportDraft,
    Resolution,
    SlaBreached,
    SlaWarning,
)
from shared.events.account import Platform
from shared.kommun import KommunConfig
from shared.personnummer import mask_personnummer
from shared.rules import Conflict, violation
from shared.unit_of_work import Decision

# P5.2, P5.8, P5.9, P7: the categories a comment may be removed for; no other (P6).
REMOVABLE: frozenset[str] = frozenset(
    {
        "advertising",
        "personal_attack",
        "threat",
        "hate_speech",
        "confidential",
        "copyright",
        "unlawful_violence",
        "child_abuse_material",
    }
)
# P5.8, L3: told to the säkerhetssamordnare and the superior manager at once.
ESCALATE: dict[str, str] = {
    "threat": "olaga hot (BrB 4:5)",
    "hate_speech": "hets mot folkgrupp (BrB 16:8)",
    "unlawful_violence": "olaga våldsskildring (BrB 16:10 c)",
    "child_abuse_material": "barnpornografibrott (BrB 16:10 a)",
}
INCITEMENT = "uppvigling (BrB 16:5)"
SECURITY_CONTACT = "sakerhetssamordnare"  # the kommun's contacts key (P5.8)


class CaseState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    BY_HAND = "by_hand"  # decided; the platform action waits for a person to do it
    CLOSED = "closed"


WAITING = (CaseState.OPEN, CaseState.CLAIMED)


@dataclass(frozen=True)
class Comment:
    """A post or comment as received: the rules' reading of it beside it."""

    id: str
    kommun: str
    account_id: str
    kind: Literal["comment", "post"]
    platform: Platform
    platform_id: str
    author: Author
    text: str
    created_at: datetime
    received_at: datetime
    post_id: str = ""
    reply_to: str = ""
    url: str = ""
    account_name: str = ""
    published_by: PersonRef | None = None
    label: Label | None = None
    category: Category | None = None
    rules: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    edited_at: datetime | None = None
    gone: Literal["", "removed", "hidden"] = ""  # what the platform says happened to it


@dataclass(frozen=True)
class Reading:
    """What the rules (or a reporter) say of a comment."""

    label: Label
    category: Category
    rules: tuple[str, ...]
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    by: str  # the subject of the actor's token, or "kanalvakt" for the system
    name: str
    action: str  # opened, reported, claimed, decided, escalated, hidden, warned, …
    reason: str = ""
    detail: str = ""


SYSTEM = Actor(subject="kanalvakt", name="Kanalvakt")


@dataclass(frozen=True)
class Case:
    id: str  # the comment's id: one case per comment
    kommun: str
    account_id: str
    account_name: str
    platform: Platform
    platform_id: str
    label: Literal["remove", "answer"]
    category: Category
    rules: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    source: Literal["classifier", "report", "system"]
    text: str
    author: Author
    url: str
    written_at: datetime
    received_at: datetime
    opened_at: datetime
    due: datetime
    warn_at: datetime
    owners: tuple[PersonRef, ...]
    state: CaseState = CaseState.OPEN
    claimed_by: str = ""
    resolution: Resolution | None = None
    decided_at: datetime | None = None
    warned: bool = False
    breached: bool = False
    escalated: bool = False
    hide_pending: bool = False  # confidential: hide on the platform at once (P10.3)
    hidden: bool = False  # hidden on the platform by a connector
    deciding: str = ""  # who is carrying a decision out on the platform right now
    to_do_by_hand: tuple[str, ...] = ()
    history: tuple[AuditEntry, ...] = ()

    @property
    def waiting(self) -> bool:
        return self.state in WAITING

    @property
    def watch_at(self) -> datetime | None:
        """When `watch_deadline` next has something to tell (B1 item 7, P5.3); None when
        nothing is left: decided, or warned and breached."""
        if not self.waiting or self.breached:
            return None
        return self.due if self.warned else self.warn_at

    def _did(
        self, by: Actor, at: datetime, action: str, reason: str = "", detail: str = ""
    ) -> "Case":
        entry = AuditEntry(at, by.subject, by.name, action, reason, detail)
        return replace(self, history=(*self.history, entry))


def received(
    data: ItemData,
    kommun: str,
    kind: Literal["comment", "post"] = "comment",
    published_by: PersonRef | None = None,
) -> Comment:
    """A post or comment as it came in, not yet read by the rules."""
    return Comment(
        id=data.comment_id,
        kommun=kommun,
        account_id=data.account_id,
        kind=kind,
        platform=data.platform,
        platform_id=data.platform_id,
        author=data.author,
        text=data.text,
        created_at=data.created_at,
        received_at=data.received_at,
        post_id=data.post_id,
        reply_to=data.reply_to,
        url=data.url,
        account_name=data.account_name,
        published_by=published_by,
    )


def read(comment: Comment, reading: Reading) -> Comment:
    return replace(
        comment,
        label=reading.label,
        category=reading.category,
        rules=reading.rules,
        evidence=reading.evidence,
    )


def owners_of(
    account: WatchedAccount | None, post: Comment | None, reading: Reading
) -> list[PersonRef]:
    """Who must act: for a question on a post, its author first (P3.4); then the account's
    administrators on duty, or their substitutes (P5.1)."""
    owners: list[PersonRef] = []
    if reading.category == "question" and post is not None and post.published_by is not None:
        owners.append(post.published_by)
    for person in account.on_duty if account else []:
        if all(person.email.casefold() != o.email.casefold() for o in owners):
            owners.append(person)
    return owners


def _deadline(
    account: WatchedAccount | None, label: str, at: datetime, config: KommunConfig
) -> datetime:
    """B1 item 7 for removal, P5.3 for an answer, in the account's monitored hours."""
    if account is None:
        hours = (
            config.deadlines.removal_hours if label == "remove" else config.deadlines.answer_hours
        )
        return due(at, hours, None)
    hours = account.removal_hours if label == "remove" else account.answer_hours
    return due(at, hours, account.monitoring)


def _warn_at(deadline: datetime, at: datetime, config: KommunConfig) -> datetime:
    """When sla.warning is due: the kommun's warning time before the deadline, not
    before the case opened."""
    return max(at, deadline - timedelta(hours=config.moderation.warn_before_hours))


def open_case(
    comment: Comment,
    reading: Reading,
    account: WatchedAccount | None,
    post: Comment | None,
    config: KommunConfig,
    at: datetime,
    *,
    source: Literal["classifier", "report", "system"] = "classifier",
    by: Actor = SYSTEM,
    reason: str = "",
) -> Decision[Case]:
    """A case for a comment that needs action. From the rules it announces
    `comment.flagged` (a report or another system's flag was an event already); a P5.8
    category escalates at once; confidential content waits to be hidden (P10.3)."""
    label: Literal["remove", "answer"] = "remove" if reading.label == "remove" else "answer"
    deadline = _deadline(account, label, comment.received_at, config)
    case = Case(
        id=comment.id,
        kommun=comment.kommun,
        account_id=comment.account_id,
        account_name=account.name if account else comment.account_name,
        platform=comment.platform,
        platform_id=comment.platform_id,
        label=label,
        category=reading.category,
        rules=reading.rules,
        evidence=reading.evidence,
        source=source,
        text=comment.text,
        author=comment.author,
        url=comment.url,
        written_at=comment.created_at,
        received_at=comment.received_at,
        opened_at=at,
        due=deadline,
        warn_at=_warn_at(deadline, at, config),
        owners=tuple(owners_of(account, post, reading)),
        hide_pending=reading.category == "confidential",
    )
    case = case._did(by, at, "opened" if source == "classifier" else "reported", reason)
    events: list[Event] = []
    if source == "classifier":
        events.append(_flagged(case, at))
    if reading.category in ESCALATE:
        case, escalation = escalate(case, account, config, at)
        events.extend(escalation)
    return case, events


def _flagged(case: Case, at: datetime) -> CommentFlagged:
    data = CommentFlaggedData(
        comment_id=case.id,
        account_id=case.account_id,
        action=case.label,
        categories=[case.category],
        rules=list(case.rules),
        due=case.due,
        source=case.source,
        evidence=list(case.evidence),
    )
    return CommentFlagged.new(case.kommun, case.id, data, at)


def superior_manager(account: WatchedAccount | None, config: KommunConfig) -> PersonRef | None:
    """The account's enhetschef, else its förvaltningschef, from the kommun's organisation."""
    if account is None or account.department not in config.organisation:
        return None
    department = config.organisation[account.department]
    unit = department.units.get(account.unit)
    head = unit.head if unit is not None else department.head
    return PersonRef(name=head.name, email=head.email)


def escalate(
    case: Case, account: WatchedAccount | None, config: KommunConfig, at: datetime
) -> Decision[Case]:
    """P5.8, L3: the säkerhetssamordnare and the superior manager are told at once, with
    what a police officer needs to take a report."""
    if case.escalated:
        return case, []
    notify = []
    if SECURITY_CONTACT in config.contacts:
        contact = config.contacts[SECURITY_CONTACT]
        notify.append(PersonRef(name=contact.name, email=contact.email))
    if (manager := superior_manager(account, config)) is not None:
        notify.append(manager)
    incitement = any("uppvigling" in m.casefold() for e in case.evidence for m in e.matched)
    offence = INCITEMENT if incitement else ESCALATE.get(case.category, "")
    draft = PoliceReportDraft(
        account_name=case.account_name,
        platform=case.platform,
        account_url=account.url if account else "",
        comment_url=case.url,
        text=mask_personnummer(case.text),  # L7: the record holds the number, not this
        author=case.author,
        written_at=case.written_at,
        received_at=case.received_at,
        archive_reference=case.id,
        offence=offence,
    )
    data = ModerationEscalatedData(
        case_id=case.id,
        comment_id=case.id,
        account_id=case.account_id,
        category=case.category,
        rules=list(case.rules),
        notify=notify,
        police_report=draft,
    )
    told = ", ".join(p.email for p in notify) or "nobody configured"
    case = replace(case, escalated=True)._did(SYSTEM, at, "escalated", offence, f"told {told}")
    return case, [ModerationEscalated.new(case.kommun, case.id, data, at)]


def claim(case: Case, by: Actor, at: datetime) -> Decision[Case]:
    """A moderator takes the case; another's claim must be released first."""
    if not case.waiting:
        raise violation(
            "state", "P5.2", "Ärendet är redan avgjort.", "the case is decided", Conflict
        )
    if case.state is CaseState.CLAIMED and case.claimed_by != by.subject:
        raise violation(
            "state",
            "P5.1",
            f"Ärendet handläggs redan av {case.claimed_by}.",
            f"the case is claimed by {case.claimed_by} already",
            Conflict,
        )
    if case.claimed_by == by.subject:
        return case, []
    return replace(case, state=CaseState.CLAIMED, claimed_by=by.subject)._did(by, at, "claimed"), []


@dataclass(frozen=True)
class Ruling:
    """What a moderator decides, as the API takes it."""

    resolution: Resolution
    reason: str = ""
    category: Category | None = None
    reply: str = ""
    forward_to: PersonRef | None = None


def check(case: Case, ruling: Ruling, by: Actor) -> None:
    """Refuse a decision the policy does not allow, naming the field and the rule."""
    if not case.waiting:
        raise violation(
            "state", "P5.2", "Ärendet är redan avgjort.", "the case is decided", Conflict
        )
    if case.state is CaseState.CLAIMED and case.claimed_by != by.subject:
        raise violation(
            "state",
            "P5.1",
            f"Ärendet handläggs av {case.claimed_by}.",
            f"the case is claimed by {case.claimed_by}",
            Conflict,
        )
    if case.deciding and case.deciding != by.subject:
        raise violation(
            "state",
            "P5.1",
            f"{case.deciding} håller på att avgöra ärendet.",
            f"{case.deciding} is deciding the case right now",
            Conflict,
        )
    r = ruling.resolution
    if r in ("remove", "hide"):
        if ruling.category is None:
            raise violation(
                "category",
                "P6",
                "Ange vilken kategori i policyn som gör att kommentaren tas bort; kritik "
                "ensam är aldrig skäl.",
                "give the policy category the comment is removed for; criticism alone "
                "is never a reason",
            )
        if ruling.category not in REMOVABLE:
            raise violation(
                "category",
                "P6",
                f"{ruling.category!r} är inget skäl att ta bort en kommentar (yttrandefrihet).",
                f"{ruling.category!r} is no reason to remove a comment (freedom of expression)",
            )
    if r in ("answer", "correct") and case.category == "personal_attack":
        raise violation(
            "resolution",
            "P5.9",
            "Personangrepp besvaras inte; de tas bort.",
            "personal attacks are not answered; they are removed",
        )
    if r == "answer" and not ruling.reply.strip():
        raise violation("reply", "P5.3", "Skriv svaret.", "write the answer")
    if r == "correct" and not ruling.reply.strip():
        raise violation(
            "reply", "P5.10", "Skriv rättelsen.", "write the correction that admits the mistake"
        )
    if r == "forward" and ruling.forward_to is None:
        raise violation(
            "forward_to",
            "P5.4",
            "Ange handläggaren som ska svara.",
            "name the case officer best suited to answer",
        )
    if r != "answer" and not ruling.reason.strip():
        raise violation(
            "reason",
            "P5.2" if r in ("remove", "hide") else "P6",
            "Ange skälet till beslutet.",
            "give the reason for the decision",
        )


PlatformStatus = Literal["done", "by_hand", "none"]


def decide(
    case: Case,
    ruling: Ruling,
    by: Actor,
    at: datetime,
    platform: PlatformStatus,
    detail: str = "",
) -> Decision[Case]:
    """The decision, what the platform did about it, and its events: moderation.decided;
    comment.removed for a removal (the archive keeps the record, P5.2)."""
    check(case, ruling, by)
    r = ruling.resolution
    category = ruling.category if r in ("remove", "hide") else case.category
    assert category is not None
    rules = _rules_of(r, category, case.rules)
    by_hand = (detail,) if platform == "by_hand" else ()
    case = replace(
        case,
        state=CaseState.BY_HAND if by_hand else CaseState.CLOSED,
        resolution=r,
        category=category,
        rules=rules,
        decided_at=at,
        deciding="",
        hide_pending=False,
        to_do_by_hand=case.to_do_by_hand + by_hand,
    )._did(by, at, f"decided:{r}", ruling.reason, detail)
    decided = ModerationDecidedData(
        case_id=case.id,
        comment_id=case.id,
        account_id=case.account_id,
        resolution=r,
        category=category,
        rules=list(rules),
        reason=mask_personnummer(ruling.reason),
        by=by,
        at=at,
        reply=mask_personnummer(ruling.reply),
        forwarded_to=ruling.forward_to,
        to_do_by_hand=bool(by_hand),
    )
    events: list[Event] = [ModerationDecided.new(case.kommun, case.id, decided, at)]
    if r in ("remove", "hide"):
        removed = CommentRemovedData(
            comment_id=case.id,
            account_id=case.account_id,
            how="removed" if r == "remove" else "hidden",
            category=category,
            rules=list(rules),
            reason=mask_personnummer(ruling.reason),
            by=by,
            at=at,
        )
        events.append(CommentRemoved.new(case.kommun, case.id, removed, at))
    return case, events


def _rules_of(resolution: str, category: str, found: tuple[str, ...]) -> tuple[str, ...]:
    extra: tuple[str, ...] = {
        "remove": ("P5.2",),
        "hide": ("P5.2",),
        "answer": ("P5.3",),
        "forward": ("P5.4",),
        "correct": ("P5.10",),
        "keep": ("P6",),
    }[resolution]
    if category == "personal_attack" and resolution in ("remove", "hide"):
        extra += ("P5.9",)
    return tuple(dict.fromkeys((*found, *extra)))


def platform_failed(
    case: Case, ruling: Ruling, by: Actor, at: datetime, detail: str
) -> Decision[Case]:
    """The platform refused or could not be reached: nothing is decided, and the case
    says why, so the moderator can try again or do it by hand."""
    case = replace(case, deciding="")
    return case._did(by, at, f"platform_failed:{ruling.resolution}", ruling.reason, detail), []


def deciding(case: Case, ruling: Ruling, by: Actor) -> Decision[Case]:
    """Marks who carries a decision out on the platform, so that a second moderator (or
    the same request again) does not do it a second time meanwhile (a reply posted twice)."""
    check(case, ruling, by)
    return replace(case, deciding=by.subject), []


def done_by_hand(case: Case, by: Actor, at: datetime, note: str) -> Decision[Case]:
    """A person did on the platform what no connector could."""
    if case.state is not CaseState.BY_HAND:
        raise violation(
            "state",
            "P5.2",
            "Inget återstår att göra för hand.",
            "nothing is left to do by hand",
            Conflict,
        )
    return replace(case, state=CaseState.CLOSED)._did(by, at, "done_by_hand", note), []


def hidden_at_once(
    case: Case, platform: PlatformStatus | Literal["failed"], detail: str, at: datetime
) -> Decision[Case]:
    """P7, P10.3: confidential content is hidden at once and announced for registration;
    where no connector can hide it, hiding is on the case to do by hand."""
    if not case.hide_pending:
        return case, []
    hidden = platform == "done"
    by_hand = () if hidden else (f"hide at once (P10.3): {detail}",)
    case = replace(
        case, hide_pending=False, hidden=hidden, to_do_by_hand=case.to_do_by_hand + by_hand
    )
    case = case._did(SYSTEM, at, "hidden" if hidden else "hide_by_hand", "P10.3", detail)
    data = CommentConfidentialData(
        comment_id=case.id,
        account_id=case.account_id,
        kinds=_kinds(case.evidence),
        hidden=hidden,
        at=at,
    )
    return case, [CommentConfidential.new(case.kommun, case.id, data, at)]


def _kinds(evidence: tuple[Evidence, ...]) -> list[str]:
    kinds = sorted({m for e in evidence if e.category == "confidential" for m in e.matched})
    return kinds or ["confidential"]


def _deadline_data(case: Case, owners: list[PersonRef]) -> DeadlineData:
    return DeadlineData(
        case_id=case.id,
        comment_id=case.id,
        account_id=case.account_id,
        label=case.label,
        category=case.category,
        rules=list(case.rules),
        due=case.due,
        owners=owners or list(case.owners),
    )


def watch_deadline(case: Case, owners: list[PersonRef], now: datetime) -> Decision[Case]:
    """sla.warning before a deadline, sla.breached at it, each once (B1 item 7, P5.3)."""
    if not case.waiting:
        return case, []
    events: list[Event] = []
    if not case.warned and case.warn_at <= now < case.due:
        case = replace(case, warned=True)._did(SYSTEM, now, "warned")
        events.append(SlaWarning.new(case.kommun, case.id, _deadline_data(case, owners), now))
    if not case.breached and case.due <= now:
        case = replace(case, warned=True, breached=True)._did(SYSTEM, now, "breached")
        events.append(SlaBreached.new(case.kommun, case.id, _deadline_data(case, owners), now))
    return case, events


def edited(comment: Comment, text: str, at: datetime, reading: Reading) -> Comment:
    """The comment as it reads now, read again; the archive keeps every version (L4)."""
    return replace(read(comment, reading), text=text, edited_at=at)


def gone(comment: Comment, how: Literal["removed", "hidden"]) -> Comment:
    return replace(comment, gone=how)


def noted(case: Case, note: str, at: datetime) -> Decision[Case]:
    """Something the platform told about the comment, on the case's record."""
    return case._did(SYSTEM, at, "noted", detail=note), []


def more_serious(case: Case, reading: Reading) -> bool:
    """A new reading (an edit, a report) that asks more than the case does: a removal
    where an answer was asked, or a crime to escalate (P5.8)."""
    if reading.category == case.category:
        return False
    if reading.category in ESCALATE and not case.escalated:
        return True
    return case.label == "answer" and reading.label == "remove"


def reread(
    case: Case,
    reading: Reading,
    text: str,
    account: WatchedAccount | None,
    config: KommunConfig,
    at: datetime,
    by: Actor = SYSTEM,
    reason: str = "",
) -> Decision[Case]:
    """The comment reads as something more serious now (edited, or reported): the case
    takes the new category, the removal deadline if it now asks a removal, and escalates
    a crime at once (P5.8, L3). Otherwise the new reading is on the record only."""
    action = "reread" if by == SYSTEM else "reported"
    if not case.waiting or not more_serious(case, reading):
        return case._did(by, at, action, reason or reading.category), []
    label: Literal["remove", "answer"] = "remove" if reading.label == "remove" else case.label
    deadline = case.due
    if label != case.label:
        deadline = min(case.due, _deadline(account, label, case.received_at, config))
    case = replace(
        case,
        label=label,
        category=reading.category,
        rules=tuple(dict.fromkeys((*case.rules, *reading.rules))),
        evidence=(*case.evidence, *reading.evidence),
        text=text,
        due=deadline,
        warn_at=min(case.warn_at, _warn_at(deadline, at, config)),
    )._did(by, at, action, reason or reading.category)
    if reading.category in ESCALATE:
        return escalate(case, account, config, at)
    return case, []


def most_serious(categories: list[Category]) -> Category:
    """Of several categories a flag names, the one that decides (as the rules rank them)."""
    return next((c for c in PRIORITY if c in categories), "neutral")

"""Events about posts and comments on official accounts, and how moderation handles
them (producer: moderation).

A comment's `comment_id` is ours and stable: `<platform>-<the platform's id>`, so a
comment that arrives twice (a webhook retried) is one comment, and the archive keeps its
record under the same id (P5.2, P3.7b). A personnummer in a comment travels only in the
comment's own text (the record); no other event repeats it (L7).
"""

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.account import Platform
from shared.events.base import Event, EventData
from shared.events.people import PersonRef
from shared.settings import ServiceName

Label = Literal["remove", "answer", "keep"]
Category = Literal[
    "advertising",
    "personal_attack",
    "threat",
    "hate_speech",
    "confidential",
    "copyright",
    "unlawful_violence",
    "child_abuse_material",
    "question",
    "criticism",
    "misguided_or_correction",
    "positive",
    "neutral",
]
Resolution = Literal["remove", "hide", "keep", "answer", "forward", "correct"]


class Author(EventData):
    id: str = Field(min_length=1, description="The author's id on the platform.")
    name: str = Field(default="", description="Display name on the platform.")
    is_kommun: bool = Field(
        default=False, description="Written by the kommun (its page or staff), P10.6."
    )


class ItemData(EventData):
    """A post or comment as the platform shows it."""

    comment_id: str = Field(min_length=1, description="Ours: `<platform>-<platform_id>`.")
    platform: Platform
    platform_id: str = Field(min_length=1, description="The platform's id of the item.")
    account_id: str = Field(min_length=1, description="The registry's account id.")
    account_name: str = Field(min_length=1, description="The account's name on the platform.")
    post_id: str = Field(default="", description="Platform id of the post it belongs to.")
    reply_to: str = Field(default="", description="Platform id of the comment it answers.")
    author: Author
    text: str = Field(default="")
    links: list[str] = Field(default_factory=list)
    url: str = Field(default="", description="Where the item is seen on the platform.")
    created_at: AwareDatetime = Field(description="When it was written, by the platform.")
    received_at: AwareDatetime = Field(description="When Kanalvakt received it.")


class PostData(ItemData):
    published_by: PersonRef | None = Field(
        default=None, description="The staff member who wrote the post (P3.4)."
    )


class CommentReceived(Event):
    """A comment arrived on an official account: inkommen (L4), to be read (P5.1, L2)."""

    nats_subject: ClassVar[str] = "comment.received"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.comment.received.v1"]
    data: ItemData


class PostPublished(Event):
    """The kommun published a post: upprättad (L4, P3.7b); its author follows it (P3.4)."""

    nats_subject: ClassVar[str] = "post.published"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.post.published.v1"]
    data: PostData


class CommentEditedData(EventData):
    comment_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    text: str = Field(description="The text as it reads now; the record keeps the first.")
    edited_at: AwareDatetime


class CommentEdited(Event):
    """The author edited a comment on the platform: the archive keeps both (L4)."""

    nats_subject: ClassVar[str] = "comment.edited"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.comment.edited.v1"]
    data: CommentEditedData


class CommentDeletedData(EventData):
    comment_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    how: Literal["removed", "hidden"] = Field(description="Deleted, or hidden from view.")
    at: AwareDatetime


class CommentDeleted(Event):
    """A comment was removed or hidden on the platform (not by Kanalvakt): the record stays
    (P5.2, L6)."""

    nats_subject: ClassVar[str] = "comment.deleted"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.comment.deleted.v1"]
    data: CommentDeletedData


class Evidence(EventData):
    """Why a rule fired: which word list or pattern matched, and the words as written."""

    rule: str = Field(description="Policy rule ID, e.g. P5.8.")
    category: Category
    matched: list[str] = Field(description="The matching words; never a personnummer (L7).")


Action = Literal["remove", "answer", "review"]


class CommentFlaggedData(EventData):
    comment_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    action: Action = Field(description="What the policy asks: remove, answer or review.")
    categories: list[Category] = Field(description="e.g. threat, personal_attack, question.")
    rules: list[str] = Field(description="Policy rule IDs that apply, e.g. P5.8.")
    due: AwareDatetime | None = Field(
        default=None,
        description="Removal (B1.7) or answer (P5.3) deadline; a report leaves it to moderation.",
    )
    source: Literal["classifier", "report", "system"] = Field(
        default="classifier", description="Who flagged it: the rules, a person or a system."
    )
    reason: str = Field(default="", description="A reporter's words.")
    evidence: list[Evidence] = Field(default_factory=list)


class CommentFlagged(Event):
    """A comment needs action under the policy (P5.2, P5.3, P5.8, P5.9): a case is open.
    Another system, or a person's report, may publish it too: moderation opens a case."""

    nats_subject: ClassVar[str] = "comment.flagged"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.comment.flagged.v1"]
    data: CommentFlaggedData


class Actor(EventData):
    subject: str = Field(min_length=1, description="Who acted: the subject of their token.")
    name: str = Field(default="")


class ModerationDecidedData(EventData):
    case_id: str = Field(min_length=1)
    comment_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    resolution: Resolution
    category: Category | None = Field(default=None, description="Required for remove/hide (P6).")
    rules: list[str]
    reason: str
    by: Actor
    at: AwareDatetime
    reply: str = Field(default="", description="The answer as sent (P5.3), or the correction.")
    forwarded_to: PersonRef | None = Field(default=None, description="P5.4: the case officer.")
    to_do_by_hand: bool = Field(
        default=False, description="No connector could act on the platform: a person must."
    )


class ModerationDecided(Event):
    """A moderator decided a case (P5.2–P5.4, P5.9, P5.10, P6)."""

    nats_subject: ClassVar[str] = "moderation.decided"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.moderation.decided.v1"]
    data: ModerationDecidedData


class CommentRemovedData(EventData):
    comment_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    how: Literal["removed", "hidden"]
    category: Category
    rules: list[str]
    reason: str
    by: Actor
    at: AwareDatetime


class CommentRemoved(Event):
    """Kanalvakt unpublished a comment under the policy: the archive keeps the record
    and marks it removed, with why (P5.2, L6)."""

    nats_subject: ClassVar[str] = "comment.removed"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.comment.removed.v1"]
    data: CommentRemovedData


class PoliceReportDraft(EventData):
    """What a police officer needs to take a report (P5.8): the moderator completes it."""

    account_name: str
    platform: Platform
    account_url: str
    comment_url: str
    text: str
    author: Author
    written_at: AwareDatetime
    received_at: AwareDatetime
    archive_reference: str = Field(description="The archive's record id: the comment_id.")
    offence: str = Field(description="The crime it may be, e.g. olaga hot (BrB 4:5).")


class ModerationEscalatedData(EventData):
    case_id: str = Field(min_length=1)
    comment_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    category: Category
    rules: list[str]
    notify: list[PersonRef] = Field(
        description="The säkerhetssamordnare and the superior manager (P5.8)."
    )
    police_report: PoliceReportDraft


class ModerationEscalated(Event):
    """A threat, hate speech, unlawful violence, child abuse material or incitement:
    the säkerhetssamordnare and the superior manager are told at once (P5.8, L3)."""

    nats_subject: ClassVar[str] = "moderation.escalated"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.moderation.escalated.v1"]
    data: ModerationEscalatedData


class CommentConfidentialData(EventData):
    comment_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    kinds: list[str] = Field(description="What was found, e.g. personnummer, health.")
    hidden: bool = Field(description="Hidden on the platform already; else to do by hand.")
    at: AwareDatetime


class CommentConfidential(Event):
    """A comment holds confidential data: hidden at once, and to be registered in the
    diarium (P7, P10.3). The text is the record's, never this event's (L7)."""

    nats_subject: ClassVar[str] = "comment.confidential"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.comment.confidential.v1"]
    data: CommentConfidentialData


class DeadlineData(EventData):
    case_id: str = Field(min_length=1)
    comment_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    label: Label
    category: Category
    rules: list[str]
    due: AwareDatetime
    owners: list[PersonRef]


class SlaWarning(Event):
    """A case's deadline is near (B1 item 7, P5.3)."""

    nats_subject: ClassVar[str] = "sla.warning"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.sla.warning.v1"]
    data: DeadlineData


class SlaBreached(Event):
    """A case's deadline has passed undecided (B1 item 7, P5.3)."""

    nats_subject: ClassVar[str] = "sla.breached"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.sla.breached.v1"]
    data: DeadlineData


class AccountUnsupervisedData(EventData):
    account_id: str = Field(min_length=1)
    account_name: str
    platform: Platform
    waiting_since: AwareDatetime = Field(description="The oldest comment nobody has looked at.")
    administrators: list[PersonRef]


class AccountUnsupervised(Event):
    """Nobody has looked at an account's comments within its monitoring window (L2, P3.3)."""

    nats_subject: ClassVar[str] = "account.unsupervised"
    producer: ClassVar[ServiceName] = ServiceName.MODERATION
    type: Literal["se.kanalvakt.account.unsupervised.v1"]
    data: AccountUnsupervisedData

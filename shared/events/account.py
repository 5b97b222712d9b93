"""Events about official accounts (producer: registry)."""

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field, HttpUrl

from shared.events.base import Event, EventData
from shared.events.people import PersonRef
from shared.settings import ServiceName

Platform = Literal[
    "facebook", "instagram", "x", "youtube", "linkedin", "tiktok", "mastodon", "other"
]
# How staff and citizens read a platform's name ("other" has none of its own).
PLATFORM_NAMES: dict[str, str] = {
    "facebook": "Facebook",
    "instagram": "Instagram",
    "x": "X",
    "youtube": "YouTube",
    "linkedin": "LinkedIn",
    "tiktok": "TikTok",
    "mastodon": "Mastodon",
    "other": "",
}


class AccountRef(EventData):
    """What every account event says of the account."""

    account_id: str = Field(min_length=1)
    name: str = Field(min_length=1, description="The account's name (handle) on the platform.")
    platform: Platform
    url: HttpUrl
    department: str = Field(min_length=1, description="Förvaltning (B1 item 3).")
    unit: str = Field(min_length=1, description="Enhet (B1 item 3).")


_HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class MonitoringRef(EventData):
    """When someone looks at the account (B1 item 7, L2): moderation counts its
    deadlines in these hours (local time in Sweden)."""

    days: list[Weekday] = Field(min_length=1)
    start: str = Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", description="HH:MM"
    )
    end: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", description="HH:MM")
    public_holidays: bool = Field(default=False, description="Monitored on public holidays too.")


class AccountDeadlines(AccountRef):
    """The account's deadlines from its plan, and who watches it when; a deadline left
    out means the kommun's default, monitoring left out means around the clock."""

    removal_deadline_hours: int | None = Field(
        default=None, gt=0, description="B1 item 7: hours to remove what breaks the rules."
    )
    answer_deadline_hours: int | None = Field(
        default=None, gt=0, description="P5.3: hours to answer a question."
    )
    administrators: list[PersonRef] = Field(
        default_factory=list, description="B1 item 5: who owns the account's cases (P5.1)."
    )
    operators: list[PersonRef] = Field(default_factory=list, description="B1 item 6.")
    monitoring: MonitoringRef | None = Field(default=None, description="B1 item 7, L2.")


class AccountCreatedData(AccountDeadlines):
    purpose: str = Field(min_length=1, description="Purpose and audience (B1 item 4).")
    submitted_by: str = Field(min_length=1, description="Subject of the submitter's token.")


class AccountCreated(Event):
    """An activity plan for a new account was submitted (P3.6, B1)."""

    nats_subject: ClassVar[str] = "account.created"
    producer: ClassVar[ServiceName] = ServiceName.REGISTRY
    type: Literal["se.kanalvakt.account.created.v1"]
    data: AccountCreatedData


class SignatureRef(EventData):
    role: str = Field(
        description="administrator_1, administrator_2, department_head, information_officer"
    )
    name: str
    signed_at: AwareDatetime


class AccountApprovedData(AccountRef):
    signatures: list[SignatureRef] = Field(description="The four sign-offs of B1.")


class AccountApproved(Event):
    """All four sign-offs of the plan are recorded (P2.1, P3.6, B1)."""

    nats_subject: ClassVar[str] = "account.approved"
    producer: ClassVar[ServiceName] = ServiceName.REGISTRY
    type: Literal["se.kanalvakt.account.approved.v1"]
    data: AccountApprovedData


class AccountActivated(Event):
    """Approved, credentials deposited (P3.5) and profile confirmed (P4.1): the account runs."""

    nats_subject: ClassVar[str] = "account.activated"
    producer: ClassVar[ServiceName] = ServiceName.REGISTRY
    type: Literal["se.kanalvakt.account.activated.v1"]
    data: AccountDeadlines


class AccountUpdatedData(AccountDeadlines):
    state: str
    changes: list[str] = Field(description="What changed, e.g. plan.administrators.")
    reapproval_required: bool = Field(
        description="Administrators, department or purpose changed: signed again (P3.6)."
    )


class AccountUpdated(Event):
    """The account or its plan changed."""

    nats_subject: ClassVar[str] = "account.updated"
    producer: ClassVar[ServiceName] = ServiceName.REGISTRY
    type: Literal["se.kanalvakt.account.updated.v1"]
    data: AccountUpdatedData


class AccountClosed(Event):
    """The unit stopped using the platform and the account is closed (P5.5)."""

    nats_subject: ClassVar[str] = "account.closed"
    producer: ClassVar[ServiceName] = ServiceName.REGISTRY
    type: Literal["se.kanalvakt.account.closed.v1"]
    data: AccountRef


class EscalationTarget(EventData):
    level: int = Field(ge=1, description="1 first, then 2 if that fails (P5.6).")
    role: str = Field(description="enhetschef or förvaltningschef")
    person: PersonRef


class AccountUnattendedData(AccountRef):
    since: AwareDatetime
    absent: list[PersonRef] = Field(description="The administrators away without a substitute.")
    escalate_to: list[EscalationTarget] = Field(
        description="P5.6: enhetschef, then förvaltningschef."
    )


class AccountUnattended(Event):
    """Every administrator is away and no substitute is present (P3.3, P5.1, P5.6)."""

    nats_subject: ClassVar[str] = "account.unattended"
    producer: ClassVar[ServiceName] = ServiceName.REGISTRY
    type: Literal["se.kanalvakt.account.unattended.v1"]
    data: AccountUnattendedData


class AccountAttendedData(AccountRef):
    since: AwareDatetime


class AccountAttended(Event):
    """Someone is there again for an account that was unattended (P3.3)."""

    nats_subject: ClassVar[str] = "account.attended"
    producer: ClassVar[ServiceName] = ServiceName.REGISTRY
    type: Literal["se.kanalvakt.account.attended.v1"]
    data: AccountAttendedData


class Finding(EventData):
    rule: str = Field(description="Policy rule ID, e.g. P3.1.")
    reason_sv: str
    reason_en: str


class AccountNoncompliantData(AccountRef):
    findings: list[Finding] = Field(min_length=1)


class AccountNoncompliant(Event):
    """The account breaks a rule that keeps it running: P3.1, P3.5, P4.1, P5.7, plan review."""

    nats_subject: ClassVar[str] = "account.noncompliant"
    producer: ClassVar[ServiceName] = ServiceName.REGISTRY
    type: Literal["se.kanalvakt.account.noncompliant.v1"]
    data: AccountNoncompliantData

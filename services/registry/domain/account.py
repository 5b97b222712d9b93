"""An official account and its lifecycle: pure rules, no NATS, no MongoDB.

draft → submitted → approved → active → closing → closed (README, "Registry").
Every command returns the changed account and the events it causes; the account keeps
its own history of who changed what, and when.
"""

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.registry.domain.plan import ActivityPlan
from shared.events import (
    AccountActivated,
    AccountApproved,
    AccountApprovedData,
    AccountClosed,
    AccountCreated,
    AccountCreatedData,
    AccountDeadlines,
    AccountRef,
    AccountUpdated,
    AccountUpdatedData,
    MonitoringRef,
    PersonRef,
    SignatureRef,
)
from shared.ids import new_id
from shared.principal import Principal, Role
from shared.rules import Conflict, NotPermitted, RuleViolations, Violation, violation
from shared.sensitive import password_in, personnummer_in
from shared.unit_of_work import Decision


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    ACTIVE = "active"
    CLOSING = "closing"
    CLOSED = "closed"


class SignRole(StrEnum):
    """The four sign-offs of B1, each by a different person (P2.1, P3.6)."""

    ADMINISTRATOR_1 = "administrator_1"
    ADMINISTRATOR_2 = "administrator_2"
    DEPARTMENT_HEAD = "department_head"  # förvaltningschef of the account's department
    INFORMATION_OFFICER = "information_officer"  # informationsansvarig (kommunchef)


# Changing these in a plan needs all four sign-offs again (P2.1, P3.6).
REAPPROVAL_FIELDS = frozenset({"administrators", "department", "purpose"})
# The profile checklist: what the profile shows (P4.1) and tells visitors (P5.7), each
# item with the rule it serves, so that a refusal names the rule broken.
PROFILE_RULES: dict[str, str] = {
    "logo_and_kommun_name": "P4.1",
    "purpose_and_official_account": "P4.1",
    "unit_part_of_kommun": "P4.1",
    "update_frequency": "P4.1",
    "contacts_and_link_to_kommun_site": "P4.1",
    # P5.7, L1: what visitors post becomes visible to others, and how their personal data
    # is processed under GDPR, with a link to the kommun's data-protection page.
    "posts_public_and_personal_data": "P5.7",
}
PROFILE_ITEMS = tuple(PROFILE_RULES)
# What a confirmation stored before P5.7 joined the checklist covered.
_PROFILE_ITEMS_BEFORE_P5_7 = PROFILE_ITEMS[:5]
LIVE_STATES = frozenset({State.APPROVED, State.ACTIVE})


@dataclass(frozen=True)
class Signature:
    role: SignRole
    subject: str
    name: str
    signed_at: datetime


@dataclass(frozen=True)
class CredentialsDeposit:
    """P3.5: where the login credentials are kept and since when; never the password."""

    location: str
    deposited_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class ProfileConfirmation:
    """P4.1, P5.7: the profile checklist, confirmed by someone who looked at the profile."""

    confirmed_by: str
    confirmed_at: datetime
    # The items confirmed: a later checklist's new item is asked for again (compliance).
    items: tuple[str, ...] = _PROFILE_ITEMS_BEFORE_P5_7


def unconfirmed_profile_rules(confirmed: Collection[str]) -> dict[str, list[str]]:
    """The checklist's items not in `confirmed`, by the rule each serves (P4.1, P5.7)."""
    missing: dict[str, list[str]] = {}
    for item, rule in PROFILE_RULES.items():
        if item not in confirmed:
            missing.setdefault(rule, []).append(item)
    return missing


@dataclass(frozen=True)
class HistoryEntry:
    """Who changed the account, how and when."""

    at: datetime
    by: str
    action: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    id: str
    kommun: str  # whose account: its events and its document are that kommun's
    plan: ActivityPlan
    state: State
    created_by: str
    created_at: datetime
    signatures: tuple[Signature, ...] = ()
    approved_at: datetime | None = None
    credentials: CredentialsDeposit | None = None
    profile: ProfileConfirmation | None = None
    departed: frozenset[str] = frozenset()  # administrators who left (by address)
    history: tuple[HistoryEntry, ...] = ()
    # What the registry last told others (compliance.review): so it tells only changes.
    unattended_since: datetime | None = None
    findings: tuple[str, ...] = ()

    @property
    def active_administrators(self) -> list[str]:
        """P3.1: administrators in the plan who have not left."""
        return [a.key for a in self.plan.administrators if a.key not in self.departed]

    def signed(self, role: SignRole) -> Signature | None:
        return next((s for s in self.signatures if s.role is role), None)

    def terms(self) -> dict[str, Any]:
        """What moderation holds the account to: B1 item 7 and P5.3 deadlines as the plan
        has them (parse_plan fills in the defaults), who answers for it (B1 items 5, 6)
        and when it is watched (B1 item 7, L2)."""
        plan = self.plan
        monitoring = plan.monitoring
        return {
            "removal_deadline_hours": plan.removal_deadline_hours,
            "answer_deadline_hours": plan.answer_deadline_hours,
            "administrators": [PersonRef(name=p.name, email=p.email) for p in plan.administrators],
            "operators": [PersonRef(name=p.name, email=p.email) for p in plan.operators],
            "monitoring": MonitoringRef(
                days=list(monitoring.days),
                start=monitoring.start.strftime("%H:%M"),
                end=monitoring.end.strftime("%H:%M"),
                public_holidays=monitoring.public_holidays,
            ),
        }

    def ref(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "account_id": self.id,
            "name": plan.handle,
            "platform": plan.platform,
            "url": plan.url,
            "department": plan.department,
            "unit": plan.unit,
        }

    def _did(self, by: Principal, at: datetime, action: str, **details: Any) -> "Account":
        return replace(self, history=(*self.history, HistoryEntry(at, by.subject, action, details)))


def _created(account: Account, at: datetime) -> AccountCreated:
    return AccountCreated.new(
        account.kommun,
        subject=account.id,
        time=at,
        data=AccountCreatedData(
            **account.ref(),
            **account.terms(),
            purpose=account.plan.purpose,
            submitted_by=account.created_by,
        ),
    )


def create(
    kommun: str, plan: ActivityPlan, by: Principal, at: datetime, *, draft: bool = False
) -> Decision[Account]:
    """A plan is saved as a draft, or submitted at once (P3.6)."""
    account = Account(
        id=new_id(),
        kommun=kommun,
        plan=plan,
        state=State.DRAFT if draft else State.SUBMITTED,
        created_by=by.subject,
        created_at=at,
    )._did(by, at, "drafted" if draft else "submitted")
    return account, [] if draft else [_created(account, at)]


def submit(account: Account, by: Principal, at: datetime) -> Decision[Account]:
    if account.state is not State.DRAFT:
        raise violation(
            "state",
            "P3.6",
            "Bara ett utkast kan lämnas in.",
            "only a draft can be submitted",
            Conflict,
        )
    account = replace(account, state=State.SUBMITTED)._did(by, at, "submitted")
    return account, [_created(account, at)]


def _may_sign(account: Account, role: SignRole, by: Principal) -> None:
    plan = account.plan
    if role in (SignRole.ADMINISTRATOR_1, SignRole.ADMINISTRATOR_2):
        admin = plan.administrators[0 if role is SignRole.ADMINISTRATOR_1 else 1]
        if Role.ADMINISTRATOR not in by.roles or by.email != admin.key:
            raise violation(
                "role",
                "B1",
                f"Bara {admin.name} ({admin.email}), inloggad som administratör, kan signera som "
                f"{role.value}.",
                f"only {admin.name} ({admin.email}), signed in as administrator, signs as "
                f"{role.value}",
                NotPermitted,
            )
    elif role is SignRole.DEPARTMENT_HEAD:
        if Role.DEPARTMENT_HEAD not in by.roles or by.department != plan.department:
            raise violation(
                "role",
                "P2.1",
                f"Bara förvaltningschefen för {plan.department} kan godkänna för förvaltningen.",
                f"only the head of {plan.department} approves for the department",
                NotPermitted,
            )
    elif Role.INFORMATION_OFFICER not in by.roles:
        raise violation(
            "role",
            "P2.1",
            "Bara informationsansvarig kan godkänna som informationsansvarig.",
            "only the information officer approves as information officer",
            NotPermitted,
        )


def sign(account: Account, role: SignRole, by: Principal, at: datetime) -> Decision[Account]:
    """One of the four sign-offs of B1; the fourth approves the plan (P2.1, P3.6)."""
    if account.state is not State.SUBMITTED:
        raise violation(
            "state",
            "P3.6",
            f"Planen kan inte signeras i läget {account.state.value}.",
            f"the plan cannot be signed while {account.state.value}",
            Conflict,
        )
    if account.signed(role):
        raise violation(
            "role",
            "B1",
            f"{role.value} har redan signerat.",
            f"{role.value} has already signed",
            Conflict,
        )
    _may_sign(account, role, by)
    if any(s.subject == by.subject for s in account.signatures):
        raise violation(
            "role",
            "P2.1",
            "Samma person kan inte signera i två roller.",
            "nobody signs twice in two roles",
            NotPermitted,
        )
    signature = Signature(role, by.subject, by.name, at)
    account = replace(account, signatures=(*account.signatures, signature))
    account = account._did(by, at, "signed", role=role.value)
    if len(account.signatures) < len(SignRole):
        return account, []
    account = replace(account, state=State.APPROVED, approved_at=at)
    approved = AccountApproved.new(
        account.kommun,
        subject=account.id,
        time=at,
        data=AccountApprovedData(
            **account.ref(),
            signatures=[
                SignatureRef(role=s.role.value, name=s.name, signed_at=s.signed_at)
                for s in account.signatures
            ],
        ),
    )
    account, more = _activate_if_ready(account, by, at)
    return account, [approved, *more]


def deposit_credentials(
    account: Account, location: str, deposited_at: datetime, by: Principal, at: datetime
) -> Decision[Account]:
    """P3.5: the informationsansvarig records where the credentials are kept, and when."""
    if Role.INFORMATION_OFFICER not in by.roles:
        raise violation(
            "role",
            "P3.5",
            "Inloggningsuppgifter lämnas till informationsansvarig, som registrerar dem.",
            "credentials are handed to the information officer, who records them",
            NotPermitted,
        )
    if password_in(location):
        raise violation(
            "location",
            "P3.5",
            "Skriv bara var inloggningsuppgifterna förvaras, aldrig själva lösenordet.",
            "write only where the credentials are kept, never the password itself",
        )
    if personnummer_in(location):
        raise violation(
            "location",
            "L7",
            "Platsen får inte innehålla personnummer eller samordningsnummer.",
            "the location must not hold a personal identity number",
        )
    _not_closed(account)
    deposit = CredentialsDeposit(location, deposited_at, by.subject)
    account = replace(account, credentials=deposit)._did(
        by, at, "credentials_deposited", location=location
    )
    return _activate_if_ready(account, by, at)


def confirm_profile(
    account: Account, checked: dict[str, bool], by: Principal, at: datetime
) -> Decision[Account]:
    """P4.1, P5.7: every item of the profile checklist is confirmed."""
    missing = unconfirmed_profile_rules({item for item, ok in checked.items() if ok})
    if missing:
        raise RuleViolations(
            [
                Violation(
                    "checklist",
                    rule,
                    "Profilen saknar: " + ", ".join(items) + ".",
                    "the profile lacks: " + ", ".join(items),
                )
                for rule, items in missing.items()
            ]
        )
    _not_closed(account)
    account = replace(account, profile=ProfileConfirmation(by.subject, at, PROFILE_ITEMS))
    account = account._did(by, at, "profile_confirmed")
    return _activate_if_ready(account, by, at)


def _activate_if_ready(account: Account, by: Principal, at: datetime) -> Decision[Account]:
    if (
        account.state is not State.APPROVED
        or account.credentials is None
        or account.profile is None
    ):
        return account, []
    account = replace(account, state=State.ACTIVE)._did(by, at, "activated")
    data = AccountDeadlines(**account.ref(), **account.terms())
    return account, [AccountActivated.new(account.kommun, account.id, data, at)]


def _not_closed(account: Account) -> None:
    if account.state in (State.CLOSING, State.CLOSED):
        raise violation(
            "state",
            "P5.5",
            "Kontot håller på att stängas.",
            "the account is being closed",
            Conflict,
        )


def _updated(
    account: Account, at: datetime, changes: list[str], reapproval: bool
) -> AccountUpdated:
    return AccountUpdated.new(
        account.kommun,
        subject=account.id,
        time=at,
        data=AccountUpdatedData(
            **account.ref(),
            **account.terms(),
            state=account.state.value,
            changes=changes,
            reapproval_required=reapproval,
        ),
    )


def amend(account: Account, plan: ActivityPlan, by: Principal, at: datetime) -> Decision[Account]:
    """A changed plan; administrators, department or purpose need all sign-offs again."""
    _not_closed(account)
    old, new = account.plan.model_dump(mode="json"), plan.model_dump(mode="json")
    changed = sorted(k for k in new if old.get(k) != new[k])
    if not changed:
        return account, []
    reapproval = bool(REAPPROVAL_FIELDS & set(changed)) and account.state is not State.DRAFT
    account = replace(account, plan=plan)
    if reapproval:
        account = replace(account, state=State.SUBMITTED, signatures=(), approved_at=None)
    account = account._did(by, at, "amended", fields=changed, reapproval_required=reapproval)
    if account.state is State.DRAFT:
        return account, []  # nobody has heard of a draft yet
    return account, [_updated(account, at, [f"plan.{k}" for k in changed], reapproval)]


def administrator_leaves(
    account: Account, email: str, by: Principal, at: datetime
) -> Decision[Account]:
    """Someone stops being an administrator; fewer than two makes the account noncompliant."""
    key = email.casefold()
    if key not in {a.key for a in account.plan.administrators} or key in account.departed:
        raise violation(
            "email",
            "P3.1",
            f"{email} är inte administratör för kontot.",
            f"{email} is not an administrator of the account",
        )
    account = replace(account, departed=account.departed | {key})
    account = account._did(by, at, "administrator_left", email=key)
    return account, [_updated(account, at, ["administrators.left"], False)]


def start_closing(account: Account, by: Principal, at: datetime, reason: str) -> Decision[Account]:
    """P5.5: the unit stops using the platform; the account is to be closed."""
    _not_closed(account)
    account = replace(account, state=State.CLOSING)._did(by, at, "closing", reason=reason)
    return account, [_updated(account, at, ["state"], False)]


def confirm_closed(account: Account, by: Principal, at: datetime) -> Decision[Account]:
    if account.state is not State.CLOSING:
        raise violation(
            "state",
            "P5.5",
            "Kontot måste först markeras för stängning.",
            "the account must be marked for closing first",
            Conflict,
        )
    account = replace(account, state=State.CLOSED)._did(by, at, "closed")
    return account, [AccountClosed.new(account.kommun, account.id, AccountRef(**account.ref()), at)]

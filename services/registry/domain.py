"""Accounts and their registration: pure rules, no NATS, no MongoDB.

Issue 3 grows this into the full activity plan (B1), sign-offs (P2.1, P3.6) and the
account lifecycle; for now an account is registered by submitting its basic plan.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from shared.events import AccountCreated, AccountCreatedData
from shared.events.account import Platform
from shared.ids import new_id


class AccountState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    ACTIVE = "active"
    CLOSING = "closing"
    CLOSED = "closed"


class AccountRegistration(BaseModel):
    """What a communicator submits to register an account (B1 items 1–4)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=100, description="Account name (handle), P4.2.")
    platform: Platform = Field(description="B1.1")
    url: HttpUrl = Field(description="B1.2 web address")
    department: str = Field(min_length=1, max_length=200, description="B1.3 förvaltning")
    unit: str = Field(min_length=1, max_length=200, description="B1.3 enhet")
    purpose: str = Field(min_length=1, max_length=2000, description="B1.4 purpose and audience")


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    platform: Platform
    url: str
    department: str
    unit: str
    purpose: str
    state: AccountState
    submitted_by: str
    submitted_at: datetime

    @property
    def name_key(self) -> str:
        """Two accounts on one platform may not share a name, whatever its case."""
        return self.name.casefold()


def submit(
    reg: AccountRegistration, submitted_by: str, now: datetime
) -> tuple[Account, AccountCreated]:
    """A submitted plan becomes an account awaiting approval (P3.6), announced to all."""
    account = Account(
        id=new_id(),
        name=reg.name,
        platform=reg.platform,
        url=str(reg.url),
        department=reg.department,
        unit=reg.unit,
        purpose=reg.purpose,
        state=AccountState.SUBMITTED,
        submitted_by=submitted_by,
        submitted_at=now,
    )
    event = AccountCreated.new(
        subject=account.id,
        time=now,
        data=AccountCreatedData(
            account_id=account.id,
            name=account.name,
            platform=account.platform,
            url=reg.url,
            department=account.department,
            unit=account.unit,
            purpose=account.purpose,
            submitted_by=submitted_by,
        ),
    )
    return account, event

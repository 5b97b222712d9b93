"""Events about official accounts (producer: registry)."""

from typing import ClassVar, Literal

from pydantic import Field, HttpUrl

from shared.events.base import Event, EventData
from shared.settings import ServiceName

Platform = Literal[
    "facebook", "instagram", "x", "youtube", "linkedin", "tiktok", "mastodon", "other"
]


class AccountCreatedData(EventData):
    account_id: str = Field(min_length=1)
    name: str = Field(min_length=1, description="The account's name (handle) on the platform.")
    platform: Platform
    url: HttpUrl
    department: str = Field(min_length=1, description="Förvaltning (B1.3).")
    unit: str = Field(min_length=1, description="Enhet (B1.3).")
    purpose: str = Field(min_length=1, description="Purpose and audience (B1.4).")
    submitted_by: str = Field(min_length=1, description="Subject of the submitter's token.")


class AccountCreated(Event):
    """An activity plan for a new account was submitted (P3.6, B1)."""

    nats_subject: ClassVar[str] = "account.created"
    producer: ClassVar[ServiceName] = ServiceName.REGISTRY
    type: Literal["se.kanalvakt.account.created.v1"]
    data: AccountCreatedData

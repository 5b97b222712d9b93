"""Events about account administrators (producer: registry)."""

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.base import Event, EventData
from shared.events.people import PersonRef
from shared.settings import ServiceName


class AdminAbsentData(EventData):
    absence_id: str = Field(min_length=1)
    administrator: PersonRef
    account_ids: list[str] = Field(description="Accounts the person administers.")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    substitute: PersonRef | None = Field(default=None, description="P5.1 substitute, if any.")


class AdminAbsent(Event):
    """An administrator's absence has started (P3.3, P5.1, P5.6)."""

    nats_subject: ClassVar[str] = "admin.absent"
    producer: ClassVar[ServiceName] = ServiceName.REGISTRY
    type: Literal["se.kanalvakt.admin.absent.v1"]
    data: AdminAbsentData


class AdminReturned(Event):
    """An administrator's absence has ended (P3.3)."""

    nats_subject: ClassVar[str] = "admin.returned"
    producer: ClassVar[ServiceName] = ServiceName.REGISTRY
    type: Literal["se.kanalvakt.admin.returned.v1"]
    data: AdminAbsentData

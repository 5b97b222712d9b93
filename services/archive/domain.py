"""Public records kept from events: pure rules, no NATS, no MongoDB.

An account's activity plan is drawn up (upprättad) by the kommun (P10.4, L4); later
issues add posts and comments, which are received (inkommen) when a visitor wrote them.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.events import AccountCreated, Event


class Origin(StrEnum):
    """OSL 5 kap. 1 §: whether the kommun received the record or drew it up (P10.4)."""

    RECEIVED = "inkommen"
    DRAWN_UP = "upprättad"


class RecordKind(StrEnum):
    ACCOUNT_PLAN = "account_plan"


@dataclass(frozen=True)
class Record:
    id: str
    kommun: str  # whose public record
    kind: RecordKind
    origin: Origin
    account_id: str
    title: str
    recorded_at: datetime
    event_type: str
    content: dict[str, Any] = field(default_factory=dict)


def record_of_account_plan(event: AccountCreated, now: datetime) -> Record:
    """P3.6, P10.1: the submitted plan is a record drawn up by the kommun."""
    data = event.data
    return Record(
        id=event.id,  # one record per event: a redelivery finds it already kept
        kommun=event.kommun,
        kind=RecordKind.ACCOUNT_PLAN,
        origin=Origin.DRAWN_UP,
        account_id=data.account_id,
        title=f"Verksamhetsplan för {data.name} ({data.platform}), {data.department}",
        recorded_at=now,
        event_type=event.type,
        content=_content(event),
    )


def _content(event: Event) -> dict[str, Any]:
    return event.model_dump(mode="json")

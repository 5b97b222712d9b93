"""A notification: one message about one event to one recipient by one channel.

Its id is made from what caused it (event, ladder level, channel, address), so an event
delivered twice, or handled by two replicas at once, makes one notification (issue 11).
Its attempts are its delivery log.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.kommun import Language


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class Status(StrEnum):
    PENDING = "pending"  # to be sent at `due_at` (now, or a retry's time)
    HELD = "held"  # quiet hours: goes out in the recipient's digest at `due_at`
    SENT = "sent"
    DIGESTED = "digested"  # went out inside a digest (`digest_id`)
    FAILED = "failed"  # every attempt failed: notification.failed was published
    # Not sent: its escalation was acknowledged before it went out (P5.6).
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Person:
    """Who is told. `why` is the selector that chose them (`contact:informationsansvarig`,
    `administrators`, `escalation:2`, …): the delivery log says why each was told."""

    name: str
    email: str
    language: Language = "sv"
    why: str = ""


@dataclass(frozen=True)
class Message:
    """What the recipient reads. Never a personnummer, a token or secret content: a
    confidential comment is named by its record id only (L7)."""

    subject: str
    text: str
    html: str
    link: str = ""  # the item in Kanalvakt; "" when the kommun has no links_base_url
    acknowledge_url: str = ""  # the signed link, when the event needs acknowledging


@dataclass(frozen=True)
class Attempt:
    at: datetime
    ok: bool
    detail: str  # the SMTP reply, the HTTP status, or the error


@dataclass(frozen=True)
class Notification:
    id: str
    kommun: str
    event_id: str
    event_type: str  # the event's subject without the kommun, e.g. comment.flagged
    event_time: datetime  # delivery latency is counted from here
    level: int  # 1; 2, 3 … when an unacknowledged escalation climbs (P5.6)
    channel: Channel
    address: str  # the e-mail address, or the webhook's name
    recipient: Person
    message: Message
    urgent: bool  # ignores quiet hours (P5.8)
    created_at: datetime
    due_at: datetime
    status: Status = Status.PENDING
    attempts: tuple[Attempt, ...] = ()
    escalation_id: str = ""  # the escalation it belongs to, when it needs acknowledging
    sent_at: datetime | None = None
    digest_id: str = ""
    claimed_until: datetime | None = None  # a replica is sending it until then


def notification_id(event_id: str, level: int, channel: Channel, address: str) -> str:
    """One per event, ladder level, channel and recipient (issue 11: exactly once)."""
    return f"{event_id}:{level}:{channel.value}:{address.lower()}"

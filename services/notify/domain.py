"""Who is told what, in their language: pure rules, no NATS, no MongoDB.

Staff read notifications in Swedish by default; a contact configured with
`language: en` gets English.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.events import AccountCreated
from shared.kommun import KommunConfig, Language


class Status(StrEnum):
    PENDING = "pending"  # recorded, not yet sent
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class Notification:
    id: str
    kommun: str  # whose staff is told, by that kommun's configuration
    event_id: str
    recipient_role: str
    recipient_name: str
    recipient_email: str
    language: Language
    subject: str
    body: str
    created_at: datetime
    status: Status = Status.PENDING


_ACCOUNT_CREATED: dict[Language, tuple[str, str]] = {
    "sv": (
        "Ny verksamhetsplan för sociala medier: {name}",
        "{kommun}: {submitter} har lämnat in en verksamhetsplan för kontot {name} på "
        "{platform} ({url}), {department} / {unit}.\n\nSyfte och målgrupp: {purpose}\n\n"
        "Planen behöver godkännas av förvaltningschefen och informationsansvarig innan "
        "kontot startas (P2.1, P3.6).",
    ),
    "en": (
        "New social media activity plan: {name}",
        "{kommun}: {submitter} submitted an activity plan for the account {name} on "
        "{platform} ({url}), {department} / {unit}.\n\nPurpose and audience: {purpose}\n\n"
        "The plan needs approval by the head of department and the information officer "
        "before the account starts (P2.1, P3.6).",
    ),
}


def plan_submitted(event: AccountCreated, config: KommunConfig, now: datetime) -> Notification:
    """P3.6: a copy of every activity plan goes to the informationsansvarig."""
    role = "informationsansvarig"
    contact = config.contact(role)
    subject, body = _ACCOUNT_CREATED[contact.language]
    data = event.data
    values = {
        "kommun": config.kommun.name,
        "submitter": data.submitted_by,
        "name": data.name,
        "platform": data.platform,
        "url": str(data.url),
        "department": data.department,
        "unit": data.unit,
        "purpose": data.purpose,
    }
    return Notification(
        id=f"{event.id}:{role}",  # one per event and recipient: redelivery changes nothing
        kommun=event.kommun,
        event_id=event.id,
        recipient_role=role,
        recipient_name=contact.name,
        recipient_email=str(contact.email),
        language=contact.language,
        subject=subject.format(**values),
        body=body.format(**values),
        created_at=now,
    )

"""Escalations that need acknowledging (P5.6, P5.8): who is told at each level, the
signed link that acknowledges without a login, and when the next level is told.

Contract (issue 11). The helper building acknowledgements fills in the functions.
"""

from dataclasses import dataclass
from datetime import datetime

from services.notify.domain.notifications import Person


@dataclass(frozen=True)
class Escalation:
    id: str  # the event's id: one escalation per event
    kommun: str
    event_id: str
    event_type: str
    about: str  # what staff see it as: the account's name, the case id
    opened_at: datetime
    # Who each level tells, resolved from the directory when the event came.
    levels: tuple[tuple[Person, ...], ...]
    context: dict[str, str]  # the message's values, none secret (domain.messages)
    urgent: bool
    webhooks: tuple[str, ...] = ()
    level: int = 1  # the highest level told so far
    next_level_at: datetime | None = None  # None: no level left to tell
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""  # the e-mail address the link was made for

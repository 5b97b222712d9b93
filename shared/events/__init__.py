"""Event contracts: the only thing services know of each other."""

from shared.events.account import AccountCreated, AccountCreatedData
from shared.events.admin import AdminAbsent, AdminAbsentData
from shared.events.base import Event, EventData
from shared.events.comment import CommentFlagged, CommentFlaggedData
from shared.events.people import PersonRef

# Every event type, in the order docs/events.md lists them.
ALL_EVENTS: tuple[type[Event], ...] = (AccountCreated, AdminAbsent, CommentFlagged)
BY_SUBJECT: dict[str, type[Event]] = {e.nats_subject: e for e in ALL_EVENTS}

__all__ = [
    "ALL_EVENTS",
    "BY_SUBJECT",
    "AccountCreated",
    "AccountCreatedData",
    "AdminAbsent",
    "AdminAbsentData",
    "CommentFlagged",
    "CommentFlaggedData",
    "Event",
    "EventData",
    "PersonRef",
]

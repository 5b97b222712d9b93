"""Event contracts: the only thing services know of each other."""

from shared.events.account import (
    AccountActivated,
    AccountApproved,
    AccountApprovedData,
    AccountAttended,
    AccountAttendedData,
    AccountClosed,
    AccountCreated,
    AccountCreatedData,
    AccountDeadlines,
    AccountNoncompliant,
    AccountNoncompliantData,
    AccountRef,
    AccountUnattended,
    AccountUnattendedData,
    AccountUpdated,
    AccountUpdatedData,
    EscalationTarget,
    Finding,
    SignatureRef,
)
from shared.events.admin import AdminAbsent, AdminAbsentData, AdminReturned
from shared.events.base import Event, EventData
from shared.events.comment import CommentFlagged, CommentFlaggedData
from shared.events.people import PersonRef

# Every event type, in the order docs/events.md lists them.
ALL_EVENTS: tuple[type[Event], ...] = (
    AccountCreated,
    AccountApproved,
    AccountActivated,
    AccountUpdated,
    AccountClosed,
    AccountUnattended,
    AccountAttended,
    AccountNoncompliant,
    AdminAbsent,
    AdminReturned,
    CommentFlagged,
)
BY_SUBJECT: dict[str, type[Event]] = {e.nats_subject: e for e in ALL_EVENTS}

__all__ = [
    "ALL_EVENTS",
    "BY_SUBJECT",
    "AccountActivated",
    "AccountApproved",
    "AccountApprovedData",
    "AccountAttended",
    "AccountAttendedData",
    "AccountClosed",
    "AccountCreated",
    "AccountCreatedData",
    "AccountDeadlines",
    "AccountNoncompliant",
    "AccountNoncompliantData",
    "AccountRef",
    "AccountUnattended",
    "AccountUnattendedData",
    "AccountUpdated",
    "AccountUpdatedData",
    "AdminAbsent",
    "AdminAbsentData",
    "AdminReturned",
    "CommentFlagged",
    "CommentFlaggedData",
    "EscalationTarget",
    "Event",
    "EventData",
    "Finding",
    "PersonRef",
    "SignatureRef",
]

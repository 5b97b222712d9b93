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


def contract_at(address: str) -> tuple[type[Event], str] | None:
    """The event type and the kommun of a subject an event is published on
    (`account.created.<kommun>`), or None when it is no event subject of ours."""
    name, _, kommun = address.rpartition(".")
    contract = BY_SUBJECT.get(name)
    return (contract, kommun) if contract is not None and kommun else None


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
    "contract_at",
]

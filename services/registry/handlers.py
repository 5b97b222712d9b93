"""The registry's events: it publishes account and administrator events, consumes none."""

from shared.bus import EventRouter
from shared.events import (
    AccountActivated,
    AccountApproved,
    AccountAttended,
    AccountClosed,
    AccountCreated,
    AccountNoncompliant,
    AccountUnattended,
    AccountUpdated,
    AdminAbsent,
    AdminReturned,
)
from shared.settings import ServiceName

events = EventRouter(ServiceName.REGISTRY)
events.publishes(
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
)

"""The registry's events: it publishes account and administrator events, consumes none yet."""

from shared.bus import EventRouter
from shared.events import AccountCreated, AdminAbsent
from shared.settings import ServiceName

events = EventRouter(ServiceName.REGISTRY)
events.publishes(AccountCreated, AdminAbsent)

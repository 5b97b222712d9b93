"""Notify's use cases, one module per concern: routing events to people (routing),
sending what is due (delivery), acknowledgements and the ladder (acks)."""

from services.notify.handlers import routing
from shared.bus import EventRouter
from shared.events import ALL_EVENTS
from shared.settings import ServiceName

events = EventRouter(ServiceName.NOTIFY)
events.publishes(*(e for e in ALL_EVENTS if e.producer is ServiceName.NOTIFY))
routing.subscribe(events)

"""The registry's events: it publishes every account and administrator event (those
whose producer is the registry), and consumes none."""

from shared.bus import EventRouter
from shared.events import ALL_EVENTS
from shared.settings import ServiceName

events = EventRouter(ServiceName.REGISTRY)
events.publishes(*(e for e in ALL_EVENTS if e.producer is ServiceName.REGISTRY))

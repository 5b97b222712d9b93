"""Events in, notifications out (owned by routing). Contract: `subscribe(events)`
registers one handler per routed event type, and the registry events that build the
directory."""

from shared.bus import EventRouter


def subscribe(events: EventRouter) -> None:
    """Subscribe every handler of this module to `events`."""

"""NATS JetStream plumbing: streams, routers, publishing and what happens to each message."""

from shared.bus.errors import InvalidEvent
from shared.bus.outcome import ALREADY_HANDLED
from shared.bus.publisher import EventPublisher
from shared.bus.router import EventRouter

__all__ = ["ALREADY_HANDLED", "EventPublisher", "EventRouter", "InvalidEvent"]

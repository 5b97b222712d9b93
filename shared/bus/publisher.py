"""Publishing events: acknowledged by JetStream, de-duplicated by the event id."""

from faststream.nats import PubAck
from faststream.nats.publisher.usecase import LogicPublisher

from shared.bus.streams import EVENTS_STREAM
from shared.events import Event


class UndeclaredEvent(LookupError):
    pass


class EventPublisher:
    """Publishes only the event types its service declared, so docs/asyncapi.yaml is complete."""

    def __init__(self, publishers: dict[type[Event], LogicPublisher], timeout: float = 5.0) -> None:
        self._publishers = publishers
        self._timeout = timeout

    async def publish(self, event: Event) -> PubAck:
        """Returns JetStream's acknowledgement; `duplicate` is set for a re-sent event."""
        try:
            publisher = self._publishers[type(event)]
        except KeyError:
            raise UndeclaredEvent(
                f"{type(event).__name__} is not declared with EventRouter.publishes()"
            ) from None
        # Nats-Msg-Id makes a re-sent event (after a timeout, say) a no-op within the
        # stream's duplicate window; with the stream named, the publish waits for
        # JetStream's acknowledgement. The subject ends in the kommun (shared.events.base).
        ack = await publisher.publish(
            event,
            subject=event.address,
            headers={"Nats-Msg-Id": event.id, "ce-type": event.type, "ce-kommun": event.kommun},
            correlation_id=event.id,
            stream=EVENTS_STREAM,
            timeout=self._timeout,
        )
        return ack

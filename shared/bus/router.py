"""A service's subscriptions and publications, declared once and built with its settings.

Handlers are declared at import time (`@events.on(AccountCreated)`); `build()` turns them
into durable JetStream pull consumers with the configured batch, manual settling by
OutcomeMiddleware, and a documented dead-letter publisher per subscribed subject.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, NatsRouter, PullSub
from faststream.nats.publisher.usecase import LogicPublisher

from shared.bus.publisher import EventPublisher
from shared.bus.streams import DLQ_PREFIX, dlq_stream, events_stream
from shared.events import Event
from shared.settings import ServiceName, Settings

Handler = TypeVar("Handler", bound=Callable[..., Any])

# How long one pull request waits for messages before asking again.
_PULL_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Subscription:
    event: type[Event]
    durable: str
    handler: Callable[..., Any]
    idempotent: bool

    @property
    def summary(self) -> str:
        doc = (self.handler.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else self.handler.__name__


@dataclass
class BuiltRouter:
    router: NatsRouter
    publisher: EventPublisher
    dead_letters: dict[str, LogicPublisher]
    idempotent: frozenset[str]  # durable names of handlers that record events themselves

    async def send_dead_letter(self, address: str, body: bytes, headers: dict[str, str]) -> None:
        """To `dlq.<address>`: `dlq.account.created.<kommun>` for `account.created.<kommun>`."""
        name = address.rpartition(".")[0]
        await self.dead_letters[name].publish(
            body, subject=f"{DLQ_PREFIX}{address}", headers=headers, timeout=5.0
        )


class EventRouter:
    def __init__(self, service: ServiceName) -> None:
        self.service = service
        self.subscriptions: list[Subscription] = []
        self.publications: list[type[Event]] = []

    def on(
        self, event: type[Event], *, durable: str = "", idempotent: bool = False
    ) -> Callable[[Handler], Handler]:
        """Subscribe a handler. The durable name is the consumer's identity: never rename it.

        `idempotent`: the handler's effect is one write that records the event (keyed by
        the event id, or through the unit of work's key), and it returns ALREADY_HANDLED
        when that write finds the event done. Otherwise the bus keeps a handled-mark per
        event, which costs two more store round trips per message."""
        name = durable or f"{self.service.value}-{event.nats_subject.replace('.', '-')}"
        if any(s.durable == name for s in self.subscriptions):
            raise ValueError(f"durable consumer {name!r} declared twice in {self.service.value}")

        def register(handler: Handler) -> Handler:
            self.subscriptions.append(Subscription(event, name, handler, idempotent))
            return handler

        return register

    def publishes(self, *events: type[Event]) -> None:
        for event in events:
            if event.producer is not self.service:
                raise ValueError(f"{event.__name__} is produced by {event.producer.value}")
            self.publications.append(event)

    def build(self, settings: Settings) -> BuiltRouter:
        window = settings.bus_duplicate_window_seconds
        replicas = settings.bus_stream_replicas
        stream = events_stream(window, replicas)
        router = NatsRouter()
        for sub in self.subscriptions:
            router.subscriber(
                sub.event.address_template(),  # every kommun's: `account.created.*`
                stream=stream,
                durable=sub.durable,
                pull_sub=PullSub(batch_size=settings.bus_pull_batch, timeout=_PULL_TIMEOUT_SECONDS),
                config=ConsumerConfig(
                    durable_name=sub.durable,
                    ack_wait=settings.bus_ack_wait_seconds,
                    # Never give up on a message: transient failures retry with backoff,
                    # invalid input is dead-lettered and terminated (OutcomeMiddleware).
                    max_deliver=-1,
                ),
                ack_policy=AckPolicy.MANUAL,
                title=f"{sub.durable}:{sub.event.nats_subject}",
                description=sub.summary,
            )(sub.handler)
        publishers = {
            event: router.publisher(
                event.address_template(),
                stream=stream,
                schema=event,
                title=f"{self.service.value}:{event.nats_subject}",
                description=(event.__doc__ or "").strip(),
            )
            for event in self.publications
        }
        dead_letters = {
            subject: router.publisher(
                f"{DLQ_PREFIX}{subject}.{{kommun}}",
                stream=dlq_stream(window, replicas),
                schema=bytes,
                title=f"{self.service.value}:{DLQ_PREFIX}{subject}",
                description=f"Original bytes of a {subject} event this service could not "
                "accept; the reason is in the Kanalvakt-Dlq-Reason header.",
            )
            for subject in sorted({s.event.nats_subject for s in self.subscriptions})
        }
        idempotent = frozenset(s.durable for s in self.subscriptions if s.idempotent)
        return BuiltRouter(router, EventPublisher(publishers), dead_letters, idempotent)

"""What happens to every consumed message: handled, duplicate, dead-lettered or retried.

Subscribers run with AckPolicy.MANUAL and this middleware settles each message once:
- handled: the handler returned, then ack. A handler declared `idempotent` records the
  event in its own write (shared.unit_of_work); for any other the middleware records
  the event id for this consumer (HandledMarks) before the ack.
- duplicate: this consumer already handled the id (a redelivery): its handler returned
  ALREADY_HANDLED, or the middleware found its mark and nothing ran; ack.
- invalid: the body is not a valid event of its subject's contract, or its kommun is not
  the subject's or not served here (checked here, before the handler runs), or the
  handler raised InvalidEvent; the original bytes go to `dlq.<subject>` with the
  reason, then AckTerm.
  `kanalvakt_dead_letters_total{service, kommun, subject}` counts each.
- anything else (store down, a bug): nak with a growing delay, so the message comes back
  and nothing is lost; `kanalvakt_events_total{outcome="retried"}` shows it.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol

from faststream import BaseMiddleware, ContextRepo
from faststream.message import StreamMessage
from nats.aio.msg import Msg
from pydantic import ValidationError

from shared.bus.errors import InvalidEvent
from shared.bus.streams import DLQ_PREFIX, DLQ_STREAM
from shared.events import Event, contract_at
from shared.metrics import DEAD_LETTERS, EVENTS, UNKNOWN

log = logging.getLogger("kanalvakt.bus")

_REASON_LIMIT = 2000  # NATS headers are single lines of modest size


class Marks(Protocol):
    async def seen(self, consumer: str, event: Event) -> bool: ...
    async def mark(self, consumer: str, event: Event, at: datetime) -> None: ...


class _AlreadyHandled:
    """What an idempotent handler returns when its write found the event done already."""

    def __repr__(self) -> str:
        return "ALREADY_HANDLED"


ALREADY_HANDLED = _AlreadyHandled()


DeadLetterSender = Callable[[str, bytes, dict[str, str]], Awaitable[None]]


def backoff(attempt: int, first: float, longest: float) -> float:
    """Delay before delivery attempt `attempt + 1`: first, 2·first, 4·first … up to longest."""
    return float(min(first * 2 ** max(attempt - 1, 0), longest))


class ContractViolation(Exception):
    """The body is not a valid event of the contract its subject carries."""

    def __init__(self, contract: type[Event], error: ValidationError) -> None:
        parts = [
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}"
            for err in error.errors(include_url=False)
        ]
        super().__init__(
            f"does not match the event contract {contract.__name__} "
            f"({contract.cloudevents_type()}): " + "; ".join(parts)
        )


def invalid_reason(exc: BaseException) -> str | None:
    """A readable reason naming the field and the rule, or None when the input is not at fault."""
    if isinstance(exc, ContractViolation | InvalidEvent):
        return str(exc)
    return None


def validate(subject: str, body: bytes, served: frozenset[str]) -> Event | None:
    """The event the body holds, checked against its subject's contract and kommun (once,
    here): a handler only ever sees an event of a kommun this deployment serves."""
    found = contract_at(subject)
    if found is None:
        return None  # not an event subject of ours: the handler decides
    contract, kommun = found
    try:
        event = contract.model_validate_json(body)
    except ValidationError as exc:
        raise ContractViolation(contract, exc) from None
    if event.kommun != kommun:
        raise InvalidEvent(
            f"kommun: the event is of kommun {event.kommun!r} but was published on {subject!r} "
            "(the subject ends in the event's kommun)"
        )
    if kommun not in served:
        raise InvalidEvent(f"kommun: {kommun!r} is not served by this deployment (KOMMUN_CONFIG)")
    return event


# The broker context's key naming the service that consumes (shared.service sets it).
SERVICE_CONTEXT_KEY = "service"


def dead_letter_labels(address: str, served: frozenset[str]) -> tuple[str, str]:
    """(kommun, subject without kommun) of a message, each bounded: a subject that is no
    event subject of ours, or a kommun not served here, is `unknown`, never raw input."""
    found = contract_at(address)
    if found is None:
        return UNKNOWN, UNKNOWN
    contract, kommun = found
    return (kommun if kommun in served else UNKNOWN), contract.nats_subject


def subject_label(address: str, served: frozenset[str]) -> str:
    """`kanalvakt_events_total`'s subject, bounded as dead_letter_labels bounds it:
    `comment.received.<kommun>`, `comment.received.unknown`, or `unknown`."""
    kommun, subject = dead_letter_labels(address, served)
    return UNKNOWN if subject == UNKNOWN else f"{subject}.{kommun}"


def counted(send: DeadLetterSender, service: str, served: frozenset[str]) -> DeadLetterSender:
    """`send` that counts each dead letter it published, for an edge that dead-letters
    itself (moderation's webhook); consumed messages are counted by OutcomeMiddleware."""

    async def send_counted(address: str, body: bytes, headers: dict[str, str]) -> None:
        await send(address, body, headers)
        DEAD_LETTERS.labels(service, *dead_letter_labels(address, served)).inc()

    return send_counted


def _one_line(text: str) -> str:
    return " ".join(text.split())[:_REASON_LIMIT]


class _KeyLock:
    """A lock for one event id, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


async def _in_progress(raw: Msg, every: float) -> None:
    """Tell JetStream the message is being worked on, until cancelled."""
    while True:
        await asyncio.sleep(every)
        try:
            await raw.in_progress()
        except Exception as exc:  # NATS away: the redelivery then is harmless
            log.debug("in-progress for %s not sent: %r", raw.subject, exc)


class OutcomeMiddlewareFactory:
    """Builds the per-message middleware with the service's store and publishing."""

    def __init__(
        self,
        marks: Marks,
        idempotent_consumers: frozenset[str],
        send_dead_letter: DeadLetterSender,
        retry_first_seconds: float,
        retry_longest_seconds: float,
        served: frozenset[str],
        ack_wait_seconds: float = 15.0,
    ) -> None:
        self.marks = marks
        # A handler still running tells JetStream so this often, so that a short ack
        # wait redelivers only what a dead process held, never what a slow one handles.
        self.in_progress_every = ack_wait_seconds / 3
        self.served = served  # ids of the kommuner this deployment serves
        # Durable consumers whose handlers record the event in their own write.
        self.idempotent = idempotent_consumers
        self.send_dead_letter = send_dead_letter
        # FastStream handles a fetched batch concurrently: two copies of one event in a
        # batch wait for each other here, so the second finds the first's mark. Across
        # replicas the handlers' own idempotency (writes keyed by event id) holds.
        self.locks: dict[str, _KeyLock] = {}
        self.retry_first = retry_first_seconds
        self.retry_longest = retry_longest_seconds

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> "OutcomeMiddleware":
        return OutcomeMiddleware(msg, context=context, factory=self)


class OutcomeMiddleware(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: ContextRepo, factory: OutcomeMiddlewareFactory):
        super().__init__(msg, context=context)
        self.factory = factory
        self.duplicate = False

    @property
    def raw(self) -> Msg | None:
        return self.msg if isinstance(self.msg, Msg) else None

    def _consumer(self) -> str:
        raw = self.raw
        if raw is None:
            return ""
        return raw.metadata.consumer or ""

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        raw = self.raw
        if raw is None or (event := validate(raw.subject, msg.body, self.factory.served)) is None:
            return await call_next(msg)
        consumer = self._consumer()
        alive = asyncio.create_task(_in_progress(raw, self.factory.in_progress_every))
        try:
            return await self._handle(call_next, msg, consumer, event)
        finally:
            alive.cancel()

    async def _handle(
        self,
        call_next: Callable[[StreamMessage[Any]], Awaitable[Any]],
        msg: StreamMessage[Any],
        consumer: str,
        event: Event,
    ) -> Any:
        key = f"{consumer}:{event.id}"
        entry = self.factory.locks.setdefault(key, _KeyLock())
        entry.users += 1
        try:
            async with entry.lock:
                if consumer in self.factory.idempotent:
                    result = await call_next(msg)
                    self.duplicate = result is ALREADY_HANDLED
                    return result
                if await self.factory.marks.seen(consumer, event):
                    self.duplicate = True
                    return None
                result = await call_next(msg)
                await self.factory.marks.mark(consumer, event, datetime.now(UTC))
                return result
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self.factory.locks[key]

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        raw = self.raw
        if raw is None:  # not a JetStream message: nothing to settle
            return False
        subject, consumer = subject_label(raw.subject, self.factory.served), self._consumer()
        if exc_val is None:
            await raw.ack()
            EVENTS.labels(consumer, subject, "duplicate" if self.duplicate else "handled").inc()
            return False
        if isinstance(exc_val, asyncio.CancelledError):
            return False  # shutting down: JetStream resends after ack_wait
        reason = invalid_reason(exc_val)
        if reason is not None:
            return await self._dead_letter(raw, consumer, reason)
        return await self._retry(raw, consumer, exc_val)

    async def _dead_letter(self, raw: Msg, consumer: str, reason: str) -> bool:
        meta = raw.metadata
        headers = {
            # One dead letter per consumer and stream position, even if this is retried.
            "Nats-Msg-Id": f"dlq:{consumer}:{meta.sequence.stream}",
            "Kanalvakt-Dlq-Reason": _one_line(reason),
            "Kanalvakt-Dlq-Subject": raw.subject,
            "Kanalvakt-Dlq-Consumer": consumer,
            "Kanalvakt-Dlq-Stream-Sequence": str(meta.sequence.stream),
            "Kanalvakt-Dlq-At": datetime.now(UTC).isoformat(),
        }
        try:
            await self.factory.send_dead_letter(raw.subject, raw.data, headers)
        except Exception as exc:  # the DLQ itself is unreachable: keep the message
            return await self._retry(raw, consumer, exc)
        await raw.term()
        EVENTS.labels(
            consumer, subject_label(raw.subject, self.factory.served), "dead_lettered"
        ).inc()
        service = str(self.context.get(SERVICE_CONTEXT_KEY) or UNKNOWN)
        DEAD_LETTERS.labels(service, *dead_letter_labels(raw.subject, self.factory.served)).inc()
        log.warning(
            "dead-lettered %s from %s to %s%s (stream %s): %s",
            raw.subject,
            consumer,
            DLQ_PREFIX,
            raw.subject,
            DLQ_STREAM,
            reason,
        )
        return True

    async def _retry(self, raw: Msg, consumer: str, exc: BaseException) -> bool:
        attempt = raw.metadata.num_delivered or 1
        delay = backoff(attempt, self.factory.retry_first, self.factory.retry_longest)
        await raw.nak(delay=delay)
        EVENTS.labels(consumer, subject_label(raw.subject, self.factory.served), "retried").inc()
        log.error(
            "%s failed in %s (attempt %d), retrying in %.1fs: %r",
            raw.subject,
            consumer,
            attempt,
            delay,
            exc,
            exc_info=exc,
        )
        return True

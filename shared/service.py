"""Builds one service from its parts: what `kanalvakt run SERVICE` serves.

Every service is the same shape (README, "Architecture"): an EventRouter of handlers, a
store over its own database, an optional API router. This module wires them to NATS,
MongoDB, metrics and HTTP, so each service's app.py only names its parts.

Handlers and routes receive one container, `Dependencies`: the settings, one kommun's
configuration, the clock, the service's store for that kommun and the unit of work. One
process serves every configured kommun (`Deployment`, one Dependencies each): a handler
gets the event's kommun's (`EventDeps`), a route the caller's (`shared.http.DepsDep`);
tests build it with an in-memory store or a clock of their own.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fast_depends.library import CustomField
from fastapi import APIRouter, FastAPI
from faststream import Depends
from faststream.message import StreamMessage
from nats.js import JetStreamContext
from pymongo.asynchronous.database import AsyncDatabase

from shared.auth import TokenVerifier
from shared.bus.broker import make_broker
from shared.bus.errors import InvalidEvent
from shared.bus.outcome import SERVICE_CONTEXT_KEY, counted
from shared.bus.router import EventRouter
from shared.bus.streams import EVENTS_STREAM
from shared.clock import Clock, utcnow
from shared.events import contract_at
from shared.http import install_error_handlers, ops_router
from shared.kommun import KommunConfig, Kommuner, load_kommuner
from shared.logs import OutageLog
from shared.metrics import CONSUMER_ACK_PENDING, CONSUMER_PENDING, OUTBOX_PENDING
from shared.outbox import OUTAGES, Outbox, pending_by_kommun, sweep_forever
from shared.settings import Settings
from shared.store import Document, HandledMarks, connect, ping
from shared.telemetry import TracerProvider, instrument_app, otlp_provider
from shared.unit_of_work import UnitOfWork

log = logging.getLogger("kanalvakt.service")

PURGE_INTERVAL_SECONDS = 3600.0
# How often each replica reads its outboxes' backlog and its consumers' lag.
BUS_METRICS_INTERVAL_SECONDS = 15.0
# The outbox sweep's ordinary pass; it hurries after an outage (shared.outbox).
SWEEP_SECONDS = 10.0


class ServiceStore(Protocol):
    async def create_indexes(self) -> None: ...

    def outboxes(self) -> Sequence[Outbox]:
        """Collections whose documents carry pending events (shared.outbox)."""
        ...


StoreT = TypeVar("StoreT")


@dataclass(frozen=True)
class Dependencies(Generic[StoreT]):
    """What a service's handlers, routes and background tasks work with, for one kommun:
    its configuration, and a store that reads and writes that kommun's data only."""

    settings: Settings
    kommun: KommunConfig
    clock: Clock
    store: StoreT
    uow: UnitOfWork


class Deployment(Generic[StoreT]):
    """Every kommun this process serves, each with its own Dependencies."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        kommuner: Kommuner,
        scopes: dict[str, Dependencies[StoreT]],
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.kommuner = kommuner
        self._scopes = scopes

    def of(self, kommun: str) -> Dependencies[StoreT]:
        """One kommun's; UnknownKommun for one not served (checked before: a token's kommun
        by shared.auth, an event's by shared.bus.outcome, a path's by shared.http)."""
        self.kommuner.get(kommun)
        return self._scopes[kommun]

    def __iter__(self) -> Iterator[Dependencies[StoreT]]:
        return iter(self._scopes.values())


class _FromContext(CustomField):
    """A value of FastStream's context (`message`, `deployment`) resolved on the event
    loop: fast_depends hands a field whose `use` is sync, as FastStream's `Context` is,
    to a worker thread, a thread hop per field per message (py-spy in the comment storm:
    ~9 % of a consuming service's samples, issue 13)."""

    def __init__(self, name: str) -> None:
        super().__init__(cast=False, required=True)
        self.name = name

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        kwargs[self.param_name or self.name] = kwargs["context__"].resolve(self.name)
        return kwargs


async def _event_deps(
    message: Annotated[StreamMessage[Any], _FromContext("message")],
    deployment: Annotated[Deployment[Any], _FromContext("deployment")],
) -> Dependencies[Any]:
    # OutcomeMiddleware checked before the handler runs that the subject's kommun is the
    # event's own and served here.
    found = contract_at(message.raw_message.subject)
    if found is None:
        raise InvalidEvent(f"subject {message.raw_message.subject!r} names no kommun")
    return deployment.of(found[1])


# The event's kommun's Dependencies, for handlers:
# `deps: Annotated[Dependencies[ArchiveStore], EventDeps]`.
EventDeps = Depends(_event_deps)

BackgroundTask = Callable[[Deployment[Any]], Coroutine[Any, Any, None]]
# One kommun's share of a periodic task, at a moment.
KommunStep = Callable[[Dependencies[Any], datetime], Awaitable[None]]


async def each_kommun(
    deployment: Deployment[Any], step: KommunStep, what: str, now: datetime
) -> None:
    """`step` for every kommun in turn; one's failure is logged with its kommun and does
    not hold up the others, then the first is raised, so the run says it failed."""
    failure: Exception | None = None
    for deps in deployment:
        try:
            await step(deps, now)
        except Exception as exc:
            log.warning("%s of kommun %s failed: %r", what, deps.kommun.id, exc)
            failure = failure or exc
    if failure is not None:
        raise failure


async def periodically(
    deployment: Deployment[Any], step: KommunStep, what: str, interval: float
) -> None:
    """`each_kommun` every `interval` seconds, forever; an outage is logged once."""
    outage = OutageLog(log, what)
    while True:
        try:
            await each_kommun(deployment, step, what, deployment.clock())
        except Exception as exc:
            outage.failed(exc, f"retrying every {interval:.0f}s")
        else:
            outage.works()
        await asyncio.sleep(interval)


@dataclass(frozen=True)
class ServiceParts:
    title: str
    events: EventRouter
    # The service's store for one kommun (its id): every query it makes is that kommun's.
    make_store: Callable[[AsyncDatabase[Document], str], ServiceStore]
    api: APIRouter | None = None
    # Long-running tasks beside the API and the handlers, e.g. the registry's scheduler.
    background: Sequence[BackgroundTask] = ()


def _hurry(uow: UnitOfWork) -> Callable[[], bool]:
    return lambda: uow.paused_lately(SWEEP_SECONDS)


async def purge_marks_forever(marks: HandledMarks, clock: Clock) -> None:
    """Handled-marks are kept for as long as anything can redeliver (HandledMarks.KEPT)."""
    while True:
        try:
            await marks.purge(clock())
        except Exception as exc:
            log.warning("purging handled-marks failed; next try in an hour: %r", exc)
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)


async def measure_bus(
    service: str,
    outboxes: Sequence[Outbox],
    kommuner: frozenset[str],
    js: JetStreamContext,
    durables: Sequence[str],
) -> None:
    """One reading of kanalvakt_outbox_pending (per kommun, from the store) and
    kanalvakt_consumer_pending_messages / _ack_pending_messages (per durable consumer the
    service owns, from JetStream). Every replica reads the same shared state, so the
    queries aggregate replicas with max(). One part failing does not stop the other."""
    failure: Exception | None = None
    try:
        for kommun, waiting in (await pending_by_kommun(outboxes, kommuner)).items():
            OUTBOX_PENDING.labels(service, kommun).set(waiting)
    except Exception as exc:
        failure = exc
    for durable in durables:
        try:
            info = await js.consumer_info(EVENTS_STREAM, durable)
        except Exception as exc:
            failure = failure or exc
            continue
        CONSUMER_PENDING.labels(service, durable).set(info.num_pending or 0)
        CONSUMER_ACK_PENDING.labels(service, durable).set(info.num_ack_pending or 0)
    if failure is not None:
        raise failure


async def measure_bus_forever(
    measure: Callable[[], Awaitable[None]], interval: float = BUS_METRICS_INTERVAL_SECONDS
) -> None:
    outage = OutageLog(log, "reading outbox and consumer metrics")
    while True:
        try:
            await measure()
        except Exception as exc:
            outage.failed(exc, f"retrying every {interval:.0f}s")
        else:
            outage.works()
        await asyncio.sleep(interval)


def build_service(
    parts: ServiceParts,
    settings: Settings,
    clock: Clock = utcnow,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """`tracer_provider`: where spans go (a test's in-memory exporter); by default the OTLP
    exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set, else no tracing (shared.telemetry)."""
    # Fail at start, not at first use.
    kommuner = load_kommuner(settings.kommun_config, settings.default_kommun)
    verifier = TokenVerifier(settings, kommuner)
    if len(kommuner) > 1 and kommuner.default and settings.auth_jwks_url:
        log.warning(
            "tokens without the %r claim act for %s (DEFAULT_KOMMUN): only right if every "
            "such token is that kommun's",
            settings.auth_kommun_claim,
            kommuner.default,
        )
    built = parts.events.build(settings)
    client = connect(settings.mongodb_url, service=settings.service.value)
    db = client[settings.database_name]
    marks = HandledMarks(db)
    uow = UnitOfWork(built.publisher, outages=OUTAGES)
    deployment = Deployment(
        settings,
        clock,
        kommuner,
        {k.id: Dependencies(settings, k, clock, parts.make_store(db, k.id), uow) for k in kommuner},
    )
    outboxes = [outbox for deps in deployment for outbox in deps.store.outboxes()]
    exporting = otlp_provider(settings) if tracer_provider is None else None  # ours to shut down
    tracing = tracer_provider or exporting
    context = {"deployment": deployment, SERVICE_CONTEXT_KEY: settings.service.value}
    broker = make_broker(settings, built, marks, kommuner.ids, context, tracing)
    durables = [sub.durable for sub in parts.events.subscriptions]

    async def measure() -> None:
        js = broker.connection.jetstream()
        await measure_bus(settings.service.value, outboxes, kommuner.ids, js, durables)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await marks.create_indexes()
        # Indexes are the collections', whichever kommun's store makes them.
        await next(iter(deployment)).store.create_indexes()
        await broker.start()
        tasks = [
            asyncio.create_task(
                sweep_forever(outboxes, built.publisher, SWEEP_SECONDS, _hurry(uow))
            ),
            asyncio.create_task(purge_marks_forever(marks, clock)),
            asyncio.create_task(measure_bus_forever(measure)),
            *(asyncio.create_task(task(deployment)) for task in parts.background),
        ]
        log.info(
            "%s ready on NATS %s, database %s, for %s",
            settings.service.value,
            settings.nats_url,
            settings.database_name,
            ", ".join(sorted(kommuner.ids)),
        )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            # Unacknowledged messages are resent by JetStream after ack_wait: nothing is lost.
            await broker.stop()
            await client.close()
            if exporting is not None:  # sends the spans still buffered
                await asyncio.to_thread(exporting.shutdown)

    async def nats_ready() -> bool:
        return await broker.ping(timeout=1.0)

    async def store_ready() -> bool:
        return await ping(db)

    app = FastAPI(title=parts.title, version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.verifier = verifier
    app.state.deployment = deployment
    app.state.broker = broker
    # For an edge that must dead-letter what it cannot take (a webhook's unmappable part).
    app.state.send_dead_letter = counted(
        built.send_dead_letter, settings.service.value, kommuner.ids
    )
    app.state.measure_bus = measure  # one reading now, for tests
    app.include_router(ops_router({"nats": nats_ready, "store": store_ready}))
    if parts.api is not None:
        app.include_router(parts.api)
    install_error_handlers(app)
    if tracing is not None:
        instrument_app(app, tracing)
    return app

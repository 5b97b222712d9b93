"""Builds one service from its parts: what `kanalvakt run SERVICE` serves.

Every service is the same shape (README, "Layout"): an EventRouter of handlers, a store
over its own database, an optional API router. This module wires them to NATS, MongoDB,
metrics and HTTP, so each service's app.py only names its parts.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI
from pymongo.asynchronous.database import AsyncDatabase

from shared.auth import TokenVerifier
from shared.bus import EventPublisher
from shared.bus.broker import make_broker
from shared.bus.router import EventRouter
from shared.clock import Clock, utcnow
from shared.http import install_error_handlers, ops_router
from shared.kommun import KommunConfig, load_kommun_config
from shared.outbox import Outbox, sweep_forever
from shared.settings import Settings
from shared.store import Document, ProcessedEvents, connect, ping

log = logging.getLogger("kanalvakt.service")


class ServiceStore(Protocol):
    async def create_indexes(self) -> None: ...

    def outboxes(self) -> Sequence[Outbox]:
        """Collections whose documents carry pending events (shared.outbox)."""
        ...


@dataclass(frozen=True)
class Runtime:
    """What a service's background task works with."""

    settings: Settings
    kommun: KommunConfig
    store: Any
    publisher: EventPublisher
    clock: Clock


@dataclass(frozen=True)
class ServiceParts:
    title: str
    events: EventRouter
    make_store: Callable[[AsyncDatabase[Document]], ServiceStore]
    api: APIRouter | None = None
    # Long-running tasks beside the API and the handlers, e.g. the registry's scheduler.
    background: Sequence[Callable[[Runtime], Coroutine[Any, Any, None]]] = ()


def build_service(parts: ServiceParts, settings: Settings) -> FastAPI:
    kommun = load_kommun_config(settings.kommun_config)  # fail at start, not at first use
    verifier = TokenVerifier(settings)
    built = parts.events.build(settings)
    client = connect(settings.mongodb_url)
    db = client[settings.database_name]
    store = parts.make_store(db)
    processed = ProcessedEvents(db)
    broker = make_broker(
        settings, built, processed, {"store": store, "kommun": kommun, "clock": utcnow}
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await processed.create_indexes()
        await store.create_indexes()
        for outbox in store.outboxes():
            await outbox.create_indexes()
        await broker.start()
        runtime = Runtime(settings, kommun, store, built.publisher, utcnow)
        tasks = [asyncio.create_task(sweep_forever(store.outboxes(), built.publisher))]
        tasks += [asyncio.create_task(task(runtime)) for task in parts.background]
        log.info(
            "%s ready on NATS %s, database %s",
            settings.service.value,
            settings.nats_url,
            settings.database_name,
        )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            # Unacknowledged messages are resent by JetStream after ack_wait: nothing is lost.
            await broker.stop()
            await client.close()

    async def nats_ready() -> bool:
        return await broker.ping(timeout=1.0)

    async def store_ready() -> bool:
        return await ping(db)

    app = FastAPI(title=parts.title, version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.kommun = kommun
    app.state.verifier = verifier
    app.state.store = store
    app.state.publisher = built.publisher
    app.state.broker = broker
    app.include_router(ops_router({"nats": nats_ready, "store": store_ready}))
    if parts.api is not None:
        app.include_router(parts.api)
    install_error_handlers(app)
    return app

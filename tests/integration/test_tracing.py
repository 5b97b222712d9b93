"""One trace from an HTTP request through the outbox and NATS into the consumer that
handled the event it caused (shared.telemetry), read from an in-memory exporter.

Each service gets a tracer provider of its own through build_service: nothing here sets
OpenTelemetry's process-wide provider, so no other test sees these spans.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import nats
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from kanalvakt.catalog import parts_of
from shared.bus.streams import EVENTS_STREAM
from shared.outbox import entries
from shared.service import build_service
from shared.settings import ServiceName
from shared.store import Document, MongoRepository
from shared.telemetry import service_provider
from shared.unit_of_work import Mapper, Publisher
from tests.helpers import KOMMUN, account_created, service_settings
from tests.integration.registry.harness import COMMUNICATOR, unique_plan


@dataclass
class Traced:
    registry: FastAPI
    client: httpx.AsyncClient
    spans: InMemorySpanExporter

    def tracer(self) -> trace.Tracer:
        """A tracer of the registry's, for code the test runs as if in a request."""
        provider = service_provider(ServiceName.REGISTRY)
        provider.add_span_processor(SimpleSpanProcessor(self.spans))
        return provider.get_tracer("test")

    def publisher(self) -> Publisher:
        """The registry's EventPublisher, through its broker's middlewares."""
        publisher: Publisher = self.registry.state.deployment.of(KOMMUN).uow.publisher
        return publisher

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    async def span(self, where: Callable[[ReadableSpan], bool], what: str) -> ReadableSpan:
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline:
            found = [s for s in self.finished() if where(s)]
            if found:
                return found[0]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no span {what} within 20s")


@asynccontextmanager
async def traced_services(
    nats_url: str, mongodb_url: str, client: AsyncMongoClient[Document]
) -> AsyncIterator[Traced]:
    """The registry and the archive, running, each tracing into one in-memory exporter
    with its own service name."""
    spans = InMemorySpanExporter()
    apps = []
    for service in (ServiceName.REGISTRY, ServiceName.ARCHIVE):
        provider = service_provider(service)
        provider.add_span_processor(SimpleSpanProcessor(spans))
        config = service_settings(service, nats_url, mongodb_url)
        apps.append((build_service(parts_of(service), config, tracer_provider=provider), config))
    (registry, registry_settings), (archive, archive_settings) = apps
    try:
        async with (
            archive.router.lifespan_context(archive),
            registry.router.lifespan_context(registry),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=registry), base_url="http://registry"
            ) as http,
        ):
            yield Traced(registry, http, spans)
    finally:
        for config in (registry_settings, archive_settings):
            await client.drop_database(config.database_name)


def chain(span: ReadableSpan, spans: list[ReadableSpan]) -> list[ReadableSpan]:
    """The span and its ancestors, as far as the spans recorded reach."""
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    found = [span]
    while (parent := found[-1].parent) is not None and parent.span_id in by_id:
        found.append(by_id[parent.span_id])
    return found


def consumed(trace_id: int) -> Callable[[ReadableSpan], bool]:
    """The archive's span of handling account.created in the given trace."""

    def where(s: ReadableSpan) -> bool:
        return (
            s.kind is SpanKind.CONSUMER
            and s.name == f"account.created.{KOMMUN} process"
            and s.context is not None
            and s.context.trace_id == trace_id
        )

    return where


def service_of(span: ReadableSpan) -> object:
    return span.resource.attributes.get("service.name")


async def test_the_consumer_of_an_event_is_in_the_trace_of_the_request_that_caused_it(
    nats_url: str, mongodb_url: str, mongo_client: AsyncMongoClient[Document]
) -> None:
    async with traced_services(nats_url, mongodb_url, mongo_client) as t:
        answer = await t.client.post("/accounts", json=unique_plan(), headers=COMMUNICATOR)
        assert answer.status_code == 201, answer.text
        request = await t.span(
            lambda s: s.kind is SpanKind.SERVER and s.attributes.get("http.route") == "/accounts",
            "of POST /accounts",
        )
        assert request.context is not None
        handling = await t.span(consumed(request.context.trace_id), "of the archive's handling")

        ancestors = chain(handling, t.finished())
        assert ancestors[-1] is request, [s.name for s in ancestors]
        assert service_of(handling) == "kanalvakt-archive"
        assert service_of(request) == "kanalvakt-registry"
        assert request.parent is None, "no traceparent came with the request: a new trace"
        assert all(s.status.is_ok for s in ancestors)


async def test_the_sweep_continues_the_trace_of_the_write_minutes_later(
    nats_url: str,
    mongodb_url: str,
    mongo_client: AsyncMongoClient[Document],
    db: AsyncDatabase[Document],
) -> None:
    async with traced_services(nats_url, mongodb_url, mongo_client) as t:
        repo = MongoRepository(db["things"], Mapper(Thing), KOMMUN)
        await repo.create_indexes()
        event = account_created()
        with t.tracer().start_as_current_span("the request that wrote it") as writing:
            await repo.add(Thing("thing-1"), [event])  # saved, not announced: NATS "down"
        written = writing.get_span_context()

        doc = await db["things"].find_one({"_id": "thing-1"})
        assert doc is not None
        [entry] = doc["outbox"]
        stored = entry["trace"]["traceparent"].split("-")
        assert stored[1:3] == [f"{written.trace_id:032x}", f"{written.span_id:016x}"], (
            "the write's context is stored with the event"
        )

        assert not trace.get_current_span().get_span_context().is_valid
        assert await repo.outbox.sweep(t.publisher()) == 1  # later, outside any request

        handling = await t.span(consumed(written.trace_id), "of the swept event's handling")
        ancestors = chain(handling, t.finished())
        assert ancestors[-1].name == "the request that wrote it", [s.name for s in ancestors]

        nc = await nats.connect(nats_url)
        try:
            sent = await nc.jetstream().get_last_msg(EVENTS_STREAM, event.address)
        finally:
            await nc.close()
        assert sent.headers is not None
        assert sent.headers["Nats-Msg-Id"] == event.id, "de-duplication still works"
        assert sent.headers["traceparent"].split("-")[1] == f"{written.trace_id:032x}"


async def test_an_event_stored_outside_any_trace_starts_a_new_one(
    nats_url: str,
    mongodb_url: str,
    mongo_client: AsyncMongoClient[Document],
    db: AsyncDatabase[Document],
) -> None:
    async with traced_services(nats_url, mongodb_url, mongo_client) as t:
        repo = MongoRepository(db["things"], Mapper(Thing), KOMMUN)
        await repo.create_indexes()
        event = account_created()
        await repo.add(Thing("thing-2"), [event])
        doc = await db["things"].find_one({"_id": "thing-2"})
        assert doc is not None
        assert "trace" not in doc["outbox"][0]

        # Sent while another trace runs (a request flushing, say): not made part of it.
        with t.tracer().start_as_current_span("an unrelated request") as other:
            await repo.announce("thing-2", t.publisher())
        unrelated = other.get_span_context().trace_id

        handling = await t.span(
            lambda s: (
                s.name == f"account.created.{KOMMUN} process"
                and (s.attributes or {}).get("messaging.message.conversation_id") == event.id
            ),
            "of the event's handling",
        )
        assert handling.context is not None
        assert handling.context.trace_id != unrelated
        root = chain(handling, t.finished())[-1]
        assert (root.name, root.parent) == (f"account.created.{KOMMUN} create", None), root.name


def test_without_an_endpoint_nothing_is_traced() -> None:
    config = service_settings(ServiceName.ARCHIVE, "nats://127.0.0.1:1", "mongodb://127.0.0.1:1")
    config = config.model_copy(update={"otel_exporter_otlp_endpoint": ""})
    app = build_service(parts_of(ServiceName.ARCHIVE), config)
    assert [type(m).__name__ for m in app.state.broker.middlewares] == [
        "NatsPrometheusMiddleware",
        "OutcomeMiddlewareFactory",
    ]
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
    assert "trace" not in entries([account_created()])[0]


@dataclass(frozen=True)
class Thing:
    id: str
    kommun: str = KOMMUN

"""Traces (OpenTelemetry): one trace shows an HTTP request and every event it caused,
down to the handlers that consumed them (README, "Tracing").

- FastAPI's instrumentation starts a span for each request, continuing the caller's
  W3C `traceparent` if it sent one.
- An entity's events are stored with the trace context of the write (shared.outbox);
  when the outbox publishes them, at once or minutes later in the sweep, that context is
  made current again, so FastStream's NatsTelemetryMiddleware writes a child of it into
  the message's `traceparent` header. An event stored outside any trace starts a new one.
- Consumers: the same middleware, outermost on the broker, starts the handler's span
  from the message's header; settling (shared.bus.outcome) happens within it.

Spans go to an OTLP/HTTP collector when OTEL_EXPORTER_OTLP_ENDPOINT is set. Without it
nothing is instrumented: no middleware, no spans, and no context is stored with events.
Metrics stay with Prometheus (shared.metrics): the instrumentations get a no-op meter.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from fastapi import FastAPI
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from opentelemetry import context
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.settings import ServiceName, Settings

__all__ = [
    "TracerProvider",
    "continued",
    "current_trace",
    "instrument_app",
    "nats_middlewares",
    "otlp_provider",
    "service_provider",
]

# W3C Trace Context only (`traceparent`, `tracestate`): what FastStream reads from NATS
# headers, whatever OTEL_PROPAGATORS says.
_PROPAGATOR = TraceContextTextMapPropagator()
# Probes and scrapes come every few seconds and say nothing about what users do.
_NOT_TRACED = "/healthz,/readyz,/metrics"
_NO_METRICS = NoOpMeterProvider()


def service_provider(service: ServiceName) -> SdkTracerProvider:
    """A provider whose spans name the service (`service.name=kanalvakt-<service>`),
    with no exporter yet: add a span processor."""
    return SdkTracerProvider(resource=Resource.create({SERVICE_NAME: f"kanalvakt-{service.value}"}))


def otlp_provider(settings: Settings) -> SdkTracerProvider | None:
    """The service's provider exporting over OTLP/HTTP, or None when no endpoint is set.

    The exporter reads the other standard variables itself (OTEL_EXPORTER_OTLP_HEADERS,
    _TIMEOUT, _COMPRESSION, _CERTIFICATE); spans go to `<endpoint>/v1/traces`, or to
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is when that is set."""
    endpoint = settings.otel_exporter_otlp_endpoint
    if not endpoint:
        return None
    # Imported only when used: no requests or protobuf in a service that does not export.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_OTLP_TRACES_ENDPOINT

    traces = os.environ.get(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or (
        f"{endpoint.rstrip('/')}/v1/traces"
    )
    provider = service_provider(settings.service)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
    return provider


def nats_middlewares(provider: TracerProvider | None) -> list[NatsTelemetryMiddleware]:
    """FastStream's NATS telemetry, to be the broker's outermost middleware; none
    without a provider."""
    if provider is None:
        return []
    return [
        NatsTelemetryMiddleware(
            tracer_provider=provider, meter_provider=_NO_METRICS, include_messages_counters=False
        )
    ]


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        meter_provider=_NO_METRICS,
        excluded_urls=_NOT_TRACED,
        exclude_spans=["receive", "send"],  # one span per request, not one per ASGI message
    )


def current_trace() -> dict[str, str]:
    """The current trace context as W3C headers (`traceparent`, `tracestate` if any);
    empty outside a trace, and always when nothing is instrumented."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


@contextmanager
def continued(carrier: Mapping[str, str] | None) -> Iterator[None]:
    """Within it, the trace context stored in `carrier` is current, so whatever is
    published continues that trace; with no stored context, a new trace begins (not the
    trace of whatever happens to be running, such as the request that flushes)."""
    token = context.attach(_PROPAGATOR.extract(carrier or {}))
    try:
        yield
    finally:
        context.detach(token)

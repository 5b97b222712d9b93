"""The NATS broker of one service: its routes, metrics and message settling."""

import logging
from typing import Any

from faststream import ContextRepo
from faststream.nats import NatsBroker
from faststream.nats.prometheus import NatsPrometheusMiddleware
from prometheus_client import REGISTRY

from shared.bus.compat import patch_pull_timeout
from shared.bus.outcome import Marks, OutcomeMiddlewareFactory
from shared.bus.router import BuiltRouter
from shared.settings import Settings
from shared.telemetry import TracerProvider, nats_middlewares


def make_broker(
    settings: Settings,
    built: BuiltRouter,
    marks: Marks,
    served: frozenset[str],
    context: dict[str, Any],
    tracer_provider: TracerProvider | None = None,
) -> NatsBroker:
    patch_pull_timeout()
    broker = NatsBroker(
        settings.nats_url,
        name=f"kanalvakt-{settings.service.value}",
        max_reconnect_attempts=-1,  # ride out a NATS restart instead of dying
        middlewares=[
            # Outermost: the handler's span covers the settling, and its publishes.
            *nats_middlewares(tracer_provider),
            NatsPrometheusMiddleware(registry=REGISTRY, app_name=settings.service.value),
            OutcomeMiddlewareFactory(
                marks,
                built.idempotent,
                built.send_dead_letter,
                settings.bus_retry_delay_seconds,
                settings.bus_retry_max_delay_seconds,
                served,
                settings.bus_ack_wait_seconds,
            ),
        ],
        context=ContextRepo(context | {"publisher": built.publisher}),
        logger=logging.getLogger(f"kanalvakt.{settings.service.value}.bus"),
    )
    broker.include_router(built.router)
    return broker

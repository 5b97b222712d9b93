"""HTTP pieces every service serves: health, readiness, metrics and readable errors."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import make_asgi_app
from pymongo.errors import ConnectionFailure, PyMongoError
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.rules import RuleViolations, Violation, violation_of
from shared.unit_of_work import NotFound

log = logging.getLogger("kanalvakt.http")

ReadyCheck = Callable[[], Awaitable[bool]]
# /readyz answers within a second even when a dependency hangs (a frozen store).
READY_CHECK_SECONDS = 0.8
# What a client is asked to wait before retrying while the store is away.
RETRY_AFTER_SECONDS = 5


async def _within(check: ReadyCheck) -> bool:
    try:
        return await asyncio.wait_for(check(), READY_CHECK_SECONDS)
    except Exception:
        return False


class _Served(Response):
    """A route's answer written by an ASGI app: the route keeps its exact path and its
    place in the OpenAPI document, the app does the rest."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__()
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def ops_router(checks: dict[str, ReadyCheck]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready to work: NATS and the service's store are reachable."""
        answers = await asyncio.gather(*(_within(check) for check in checks.values()))
        results = {
            name: "ok" if ok else "unreachable" for name, ok in zip(checks, answers, strict=True)
        }
        ready = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", **results},
            status_code=200 if ready else 503,
        )

    # prometheus_client's own app (format negotiation, gzip, `name[]`), answering from a
    # route rather than mounted: a mount lives at /metrics/ and redirects /metrics there.
    metrics_app = make_asgi_app()

    @router.get("/metrics", response_class=PlainTextResponse)
    async def metrics() -> Response:
        """Prometheus text format."""
        return _Served(metrics_app)

    return router


def violations_response(violations: list[Violation], status: int = 422) -> JSONResponse:
    summary = "; ".join(f"{v.field}: {v.en} ({v.rule})" for v in violations)
    return JSONResponse(
        {"detail": summary, "errors": [v.as_dict() for v in violations]}, status_code=status
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return violations_response([violation_of(err) for err in exc.errors()])


async def _rule_violations(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RuleViolations)
    return violations_response(exc.violations, exc.status)


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFound)
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def _store_error(request: Request, exc: Exception) -> JSONResponse:
    """The store is away or too slow: 503 in bounded time (shared.store's timeout), with
    Retry-After. A write may still have been saved: clients retry with the same
    Idempotency-Key and get its first result."""
    assert isinstance(exc, PyMongoError)
    if isinstance(exc, ConnectionFailure) or exc.timeout:
        log.warning("%s %s: store unavailable: %r", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": "the store is unavailable; try again shortly (same Idempotency-Key)"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    log.error("%s %s: store error", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal error in the store"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RuleViolations, _rule_violations)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(PyMongoError, _store_error)


async def _request_key(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=8,
            max_length=200,
            description="A key of the client's choosing (a UUID): a retried request with "
            "the same key returns the first request's result instead of doing it again.",
        ),
    ] = None,
) -> str | None:
    return f"{request.method} {request.url.path} {key}" if key else None


# A write's Idempotency-Key, scoped to its method and path (shared.unit_of_work).
RequestKey = Annotated[str | None, Depends(_request_key)]


def _deps(request: Request) -> Any:
    return request.app.state.deps


# The service's dependency container (shared.service.Dependencies), for routes:
# `deps: Annotated[Dependencies[RegistryStore], DepsDep]`.
DepsDep = Depends(_deps)

"""HTTP pieces every service serves: health, readiness, metrics and readable errors."""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import make_asgi_app
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.rules import RuleViolations, Violation, violation_of

ReadyCheck = Callable[[], Awaitable[bool]]


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
        results = {name: "ok" if await check() else "unreachable" for name, check in checks.items()}
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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RuleViolations, _rule_violations)


def _state(name: str) -> Any:
    def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    get.__name__ = f"app_{name}"
    return Depends(get)


# What build_service puts on app.state, for routes to declare as dependencies:
# `store: Annotated[RegistryStore, StoreDep]`.
StoreDep = _state("store")
PublisherDep = _state("publisher")
KommunDep = _state("kommun")

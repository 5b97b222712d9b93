"""HTTP pieces every service serves: health, readiness, metrics and readable errors.

Every error is answered as one shape, `Problem` (`{"detail": str, "errors": [...]}`), and
documented where it can happen: `install_error_handlers` answers the errors and states
in the OpenAPI document what the mechanisms cause (400 a body that is not JSON, 401 the
bearer token, 403 a required role, 422 the request's fields, 503 the store away);
routes add with `problems(...)` what their rules cause (404 an unknown id, 409 a state
conflict).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

import fastapi.routing
from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi import Path as FastAPIPath
from fastapi.dependencies.models import Dependant
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import make_asgi_app
from pydantic import BaseModel, ConfigDict, Field
from pymongo.errors import ConnectionFailure, PyMongoError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.auth import RoleCheck, current_principal
from shared.principal import Principal
from shared.rules import RuleViolations, Violation, violation_of
from shared.unit_of_work import NotFound

log = logging.getLogger("kanalvakt.http")

ReadyCheck = Callable[[], Awaitable[bool]]
# /readyz answers within a second even when a dependency hangs (a frozen store).
READY_CHECK_SECONDS = 0.8
# What a client is asked to wait before retrying while the store is away.
RETRY_AFTER_SECONDS = 5


class Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sv: str
    en: str


class ViolationOut(BaseModel):
    """One broken rule: the field, the rule (its ID in POLICY.md, or `input` for a
    field's own type and bounds) and why, in Swedish and English."""

    model_config = ConfigDict(extra="forbid")
    field: str
    rule: str
    message: Bilingual


class Problem(BaseModel):
    """Every error answer. `errors` lists each broken rule (422, and 403 or 409 refused
    by a rule); it is empty or absent for 401, 404 and 503."""

    detail: str = Field(description="What went wrong, in one line.")
    errors: list[ViolationOut] = Field(default_factory=list)


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Why each error can happen, as the OpenAPI document says it.
ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "The body could not be read (not UTF-8).",
    401: "No bearer token, or a refused one: `detail` names the check that failed "
    "(`expired`, `audience`, `issuer`, `signature`, `malformed`, `claims`, …).",
    403: "Not permitted: the token holds none of the roles this needs, or the rule does "
    "not let this person act (`errors` names the rule).",
    404: "Nothing with this id.",
    409: "Not in this state (already signed, not yet approved, closed), the name is "
    "already registered, or it was changed by someone else at the same time.",
    422: "The request breaks rules: every failing field with its rule ID and a message "
    "in Swedish and English.",
    503: "The store is away or too slow: retry after `Retry-After` seconds with the same "
    "Idempotency-Key; a write that was saved returns its first result.",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "`Bearer`: the scheme to authenticate with.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        }
    },
}


def problem_response(status: int, description: str = "") -> dict[str, Any]:
    """One documented error answer: its description, `Problem` and its headers."""
    response: dict[str, Any] = {
        "description": description or ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": dict(_PROBLEM_REF)}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the errors a route's own rules cause, e.g. `problems(404, 409)`."""
    return {s: problem_response(s) for s in statuses}


# `responses=` for a list that comes in pages (shared by the services' list routes).
PAGED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A page. A full page may have a next one: then the `Link` header "
        "gives its address; without it this is the last page.",
        "headers": {
            "Link": {
                "description": 'The next page: `<URL>; rel="next"` (RFC 8288). Absent on '
                "the last page.",
                "required": False,
                "schema": {"type": "string"},
            }
        },
    }
}


def link_next(request: Request, response: Response, full: bool, **cursor: object) -> None:
    """A full page may have a next one: say so in the `Link` header (PAGED), with the
    cursor that continues after the page's last item; never truncate silently."""
    if full:
        url = request.url.include_query_params(**cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'


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


_READINESS = {
    "schema": {
        "type": "object",
        "properties": {"status": {"type": "string", "enum": ["ready", "not ready"]}},
        "required": ["status"],
        "additionalProperties": {"type": "string", "enum": ["ok", "unreachable"]},
    }
}


def ops_router(checks: dict[str, ReadyCheck]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get(
        "/readyz",
        responses={
            200: {"description": "Ready.", "content": {"application/json": _READINESS}},
            503: {
                "description": "Not ready: the dependency marked `unreachable` did not "
                "answer within a second.",
                "content": {"application/json": _READINESS},
            },
        },
    )
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
    problem = Problem(
        detail=summary, errors=[ViolationOut.model_validate(v.as_dict()) for v in violations]
    )
    return JSONResponse(problem.model_dump(mode="json"), status_code=status)


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


def _calls(dependant: Dependant) -> list[Any]:
    """Every dependency a route has, however deep."""
    found = []
    for dep in dependant.dependencies:
        found.append(dep.call)
        found += _calls(dep)
    return found


def _api_routes(routes: list[Any]) -> Iterator[Any]:
    """The API routes as served, prefixes applied: FastAPI 0.164+ keeps included routers
    whole and gives their routes' effective view through `iter_route_contexts`."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    for route in contexts(routes) if contexts else routes:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route


def _route_errors(route: Any, operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The errors a route's mechanisms cause: what its dependencies and parameters are."""
    calls = _calls(route.dependant)
    errors: dict[int, dict[str, Any]] = {}
    if route.body_field is not None or "requestBody" in operation:
        errors[400] = problem_response(400)
    if operation.get("security"):
        errors[401] = problem_response(401)
    roles = sorted({r.value for c in calls if isinstance(c, RoleCheck) for r in c.roles})
    if roles:
        errors[403] = problem_response(
            403, ERROR_DESCRIPTIONS[403] + " Roles: " + ", ".join(f"`{r}`" for r in roles) + "."
        )
    if "422" in operation["responses"] or operation.get("parameters") or errors.get(400):
        errors[422] = problem_response(422)
    if {_deps, _public_deps, _host_deps} & set(calls):
        errors[503] = problem_response(503)
    if {_public_deps, _host_deps} & set(calls):
        errors[404] = problem_response(404, "No kommun with this id is served here.")
    return {str(status): response for status, response in errors.items()}


_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def _absent_not_null(parameter: dict[str, Any]) -> None:
    """An optional parameter is left out, never sent as null (a query or a header has no
    null: `?after=null` is the text "null"): its schema loses FastAPI's `null` branch."""
    schema = parameter.get("schema", {})
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) == len(schema.get("anyOf", [])):
        return
    del schema["anyOf"]
    if len(branches) == 1:
        schema |= branches[0]
    else:
        schema["anyOf"] = branches


def _document_errors(schema: dict[str, Any], routes: list[Any]) -> None:
    """Every operation's errors as `Problem`, in place of FastAPI's default 422 (a list
    that these handlers never answer)."""
    for route in _api_routes(routes):
        if route.path_format not in schema["paths"]:
            continue
        for method in route.methods or ():
            operation = schema["paths"][route.path_format].get(method.lower())
            if operation is None:
                continue
            for parameter in operation.get("parameters", []):
                _absent_not_null(parameter)
            responses = operation["responses"]
            for status, response in _route_errors(route, operation).items():
                declared = responses.get(status)
                # What a route declares itself stays; FastAPI's own 422 goes.
                if declared is None or _FASTAPI_422 in str(declared):
                    responses[status] = response
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components |= problem.pop("$defs", {}) | {"Problem": problem}


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 with `Allow` naming every method of the path: Starlette names only those of the
    first route matching it (`GET /absences` and `POST /absences` are two routes)."""
    assert isinstance(exc, StarletteHTTPException)
    path = request.url.path
    allowed = {
        method
        for route in _api_routes(request.app.routes)
        if route.path_regex.fullmatch(path)
        for method in route.methods or ()
    }
    if allowed:
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(allowed))}
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    """Errors answered as `Problem`, and documented so in the app's OpenAPI document."""
    app.add_exception_handler(405, _method_not_allowed)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RuleViolations, _rule_violations)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(PyMongoError, _store_error)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _document_errors(generate(), app.routes)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


async def _request_key(
    request: Request,
    caller: Annotated[Principal, Depends(current_principal)],
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=8,
            max_length=200,
            # Visible ASCII: what survives a header unchanged (no spaces to trim).
            pattern=r"^[!-~]+$",
            description="A key of the client's choosing (a UUID): a retried request with "
            "the same key returns the first request's result instead of doing it again.",
        ),
    ] = None,
) -> str | None:
    # The caller's own: another person's request with the same key is another request.
    return f"{caller.subject} {request.method} {request.url.path} {key}" if key else None


# A write's Idempotency-Key, scoped to its caller, method and path (shared.unit_of_work).
# FastAPI runs current_principal once a request, however many dependencies name it.
RequestKey = Annotated[str | None, Depends(_request_key)]


async def _deps(  # async: no thread-pool hop per request
    request: Request, caller: Annotated[Principal, Depends(current_principal)]
) -> Any:
    return request.app.state.deployment.of(caller.kommun)


# The caller's kommun's dependency container (shared.service.Dependencies), for routes
# that need a token: `deps: Annotated[Dependencies[RegistryStore], DepsDep]`. Its store
# reads the caller's kommun only, so another kommun's id is a 404 like any unknown one.
DepsDep = Depends(_deps)


def _served(request: Request, kommun: str) -> Any:
    deployment = request.app.state.deployment
    if kommun not in deployment.kommuner.ids:
        raise NotFound("kommun", kommun)
    return deployment.of(kommun)


async def _public_deps(
    request: Request,
    kommun: Annotated[
        str, FastAPIPath(description="The kommun's id (`kommun.id` in its configuration).")
    ],
) -> Any:
    return _served(request, kommun)


async def _host_deps(request: Request) -> Any:
    kommuner = request.app.state.deployment.kommuner
    config = kommuner.by_host(request.headers.get("host", ""))
    kommun = config.id if config is not None else kommuner.default
    if not kommun:
        raise NotFound("kommun", f"the kommun of host {request.url.hostname}")
    return _served(request, kommun)


# For routes anyone may call, without a token: the kommun named in the path
# (`/public/{kommun}/…`), or the one this host serves (`public_hosts`, else the default).
PublicDepsDep = Depends(_public_deps)
HostDepsDep = Depends(_host_deps)

"""The web part's FastAPI app (`create_app`) and its entry point (`main`, what
`kanalvakt web` and `kanalvakt up` run).

Every route is CSRF-checked (an app-wide dependency) and every response carries the
security headers (web.security); errors become readable pages in the person's language.
"""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.auth import TokenVerifier
from shared.kommun import Kommuner, load_kommuner
from shared.logs import configure_logging
from shared.settings import Settings
from web.i18n import COOKIE as LANG_COOKIE
from web.i18n import LANGUAGES, lang_of, t
from web.pages import accounts, archive, notifications
from web.pages import moderation as moderation_pages
from web.render import render
from web.security import Csrf, CsrfRefused, SecurityHeaders, check_csrf, cookie_flags
from web.services import ApiError, ApiUnavailable
from web.session import Sessions, SignInFailed, SignInRequired, local_path
from web.session import router as session_router
from web.settings import DEFAULT_WEB_PORT, WebSettings

STATIC = Path(__file__).parent / "static"


def _error_page(
    request: Request, status: int, message: str, errors: list[Any] | None = None
) -> Response:
    return render(
        request,
        "error.html",
        status_code=status,
        status=status,
        message=message,
        errors=errors or [],
        user=getattr(request.state, "user", None),
    )


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return _error_page(request, 403, t("error.csrf", lang_of(request)))


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    target = "/signin?" + str(httpx.QueryParams({"next": local_path(exc.next_url)}))
    return RedirectResponse(target, status_code=303)


async def _sign_in_failed(request: Request, exc: Exception) -> Response:
    lang = lang_of(request)
    return _error_page(request, 400, f"{t('signin.failed', lang)}: {exc}")


async def _unavailable(request: Request, exc: Exception) -> Response:
    response = _error_page(request, 503, t("error.unavailable", lang_of(request)))
    response.headers["Retry-After"] = "5"
    return response


async def _api_error(request: Request, exc: Exception) -> Response:
    """An API refusal no page handled itself: its rules in words, its status kept."""
    assert isinstance(exc, ApiError)
    lang = lang_of(request)
    generic = {403: "error.forbidden", 404: "error.not_found"}
    message = t(generic[exc.status], lang) if exc.status in generic else exc.detail
    return _error_page(request, exc.status, message, exc.errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    lang = lang_of(request)
    message = t("error.not_found", lang) if exc.status_code == 404 else str(exc.detail)
    return _error_page(request, exc.status_code, message)


def create_app(
    settings: Settings | None = None,
    web_settings: WebSettings | None = None,
    kommuner: Kommuner | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The web part. Tests pass their own settings and a transport standing in for the
    services' APIs."""
    settings = settings or Settings()
    web = web_settings or WebSettings()  # WEB_SESSION_SECRET from the environment
    kommuner = kommuner or load_kommuner(settings.kommun_config, settings.default_kommun)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            timeout=web.api_timeout_seconds, transport=transport
        ) as client:
            app.state.http = client
            yield

    app = FastAPI(
        title="Kanalvakt web",
        lifespan=lifespan,
        dependencies=[Depends(check_csrf)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    secret = web.session_secret.get_secret_value().encode()
    app.state.settings = settings
    app.state.web_settings = web
    app.state.kommuner = kommuner
    app.state.verifier = TokenVerifier(settings, kommuner)
    app.state.csrf = Csrf(secret)
    app.state.sessions = Sessions(secret, web.session_hours)
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(SignInFailed, _sign_in_failed)
    app.add_exception_handler(ApiUnavailable, _unavailable)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(session_router)
    app.include_router(accounts.router)
    app.include_router(archive.router)
    app.include_router(notifications.router)
    app.include_router(moderation_pages.router)

    @app.get("/")
    async def home() -> Response:
        return RedirectResponse("/accounts", status_code=303)

    @app.get("/lang/{lang}")
    async def switch_language(lang: str, next: str = "/accounts") -> Response:
        """The language link: the choice kept in a cookie for a year."""
        response = RedirectResponse(local_path(next), status_code=303)
        if lang in LANGUAGES:
            response.set_cookie(LANG_COOKIE, lang, **cookie_flags(365 * 24 * 3600))
        return response

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """Ready: the registry answers (every page needs it)."""
        try:
            answer = await app.state.http.get(web.registry_url.rstrip("/") + "/healthz")
            ok = answer.status_code == 200
        except httpx.HTTPError:
            ok = False
        status = {
            "status": "ready" if ok else "not ready",
            "registry": "ok" if ok else "unreachable",
        }
        return JSONResponse(status, status_code=200 if ok else 503)

    return app


def main() -> int:
    """Serve the web part on HTTP_HOST:HTTP_PORT (0: 8005), logging as the services do
    (LOG_LEVEL, LOG_FORMAT; redacted), its access log without link tokens."""
    settings = Settings()
    configure_logging("web", settings.log_level, settings.log_format)
    app = create_app(settings)
    port = settings.http_port or DEFAULT_WEB_PORT
    config = uvicorn.Config(app, host=settings.http_host, port=port, log_config=None)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()
    return 0

"""What every response and every form of the web part is held to.

- A strict Content-Security-Policy: only the web part's own scripts and styles, no inline
  script or style, no framing, forms post only to itself.
- Cookies: `__Host-` names (Secure, Path=/, no Domain: no other host can set or read
  them), HttpOnly, SameSite (`cookie_flags`).
- CSRF: a signed double-submit token. The CSRF cookie holds a random nonce and its HMAC;
  every form carries the same value in `csrf_token` (or a script sends it in
  `X-CSRF-Token`). An unsafe request without the pair, or with a forged or different one,
  is refused with 403 before any page code runs.
"""

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "__Host-kanalvakt-csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    # HTTPS only once seen over HTTPS; harmless on the local http://127.0.0.1.
    "Strict-Transport-Security": "max-age=31536000",
}


class SecurityHeaders:
    """ASGI middleware: the headers above on every response, errors and static files
    included; pages (personal data) are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if not scope["path"].startswith("/static/"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def cookie_flags(max_age: int | None = None, *, strict: bool = False) -> dict[str, Any]:
    """Every cookie of the web part: Secure, HttpOnly, SameSite, the whole site."""
    return {
        "secure": True,
        "httponly": True,
        "samesite": "strict" if strict else "lax",
        "path": "/",
        "max_age": max_age,
    }


class CsrfRefused(Exception):
    """An unsafe request without a valid CSRF token (403, a readable page)."""


class Csrf:
    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"kanalvakt-web-csrf\0" + secret).digest()

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def new_token(self) -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._sign(nonce)}"

    def valid(self, token: str) -> bool:
        nonce, _, signature = token.partition(".")
        return bool(nonce) and hmac.compare_digest(signature, self._sign(nonce))

    def token_for(self, request: Request) -> str:
        """The request's token (its cookie's, if valid), made once a request: the page
        puts it in its forms, the response sets it as the cookie (ensure_cookie)."""
        made = getattr(request.state, "csrf_token", None)
        if made is None:
            cookie = request.cookies.get(CSRF_COOKIE, "")
            made = cookie if cookie and self.valid(cookie) else self.new_token()
            request.state.csrf_token = made
        return str(made)

    def ensure_cookie(self, request: Request, response: Response) -> None:
        token = getattr(request.state, "csrf_token", None)
        if token is not None and request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(CSRF_COOKIE, token, **cookie_flags(strict=True))

    async def check(self, request: Request) -> None:
        """Refuse an unsafe request whose form field (or header) does not match its
        cookie, or whose cookie was not made here."""
        if request.method in SAFE_METHODS:
            return
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent:
            content_type = request.headers.get("content-type", "")
            if content_type.startswith(("application/x-www-form-urlencoded", "multipart/")):
                # Read once: FastAPI's Form parameters reuse the parsed form.
                value = (await request.form()).get(CSRF_FIELD, "")
                sent = value if isinstance(value, str) else ""
        if not (cookie and sent and hmac.compare_digest(cookie, sent) and self.valid(cookie)):
            raise CsrfRefused()


async def check_csrf(request: Request) -> None:
    """App-wide dependency: every route, present and future, is covered."""
    csrf: Csrf = request.app.state.csrf
    await csrf.check(request)

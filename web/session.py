"""Sign-in: who the person is, and the token the web part calls the APIs with.

Production: OpenID Connect's authorization code flow with PKCE (S256) against the
identity provider the APIs trust (AUTH_ISSUER, AUTH_JWKS_URL). The access token it gives
is verified exactly as the APIs verify it (shared.auth.TokenVerifier: issuer, audience,
keys, and the roles, department and kommun from the configured claims), then kept in the
session and sent with every API call, so the APIs decide what the person may do.

Local (`kanalvakt up`, WEB_LOCAL_SIGNIN): a page to pick a configured person (the
kommun's contacts and the heads of its departments and units) or anyone else with a
role; the token is minted as `kanalvakt token` mints it, with AUTH_SECRET.

No password is ever asked for or stored. The session is a cookie: the token, encrypted
and authenticated (Fernet) with WEB_SESSION_SECRET, HttpOnly, Secure, SameSite=Lax.
"""

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import httpx
from cryptography.fernet import Fernet, InvalidToken
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.routing import Match

from shared.auth import AuthError, IdentityProviderUnreachable, TokenVerifier, mint_token
from shared.kommun import Kommuner
from shared.principal import Principal, Role
from shared.settings import Settings
from web.render import render
from web.security import cookie_flags
from web.settings import WebSettings

SESSION_COOKIE = "__Host-kanalvakt-session"
OIDC_COOKIE = "__Host-kanalvakt-oidc"  # state, nonce and PKCE verifier of one sign-in
OIDC_SECONDS = 600
# Staff roles a person may take at the local sign-in (a connector is a system).
LOCAL_ROLES = tuple(r for r in Role if r is not Role.CONNECTOR)


@dataclass(frozen=True)
class User:
    """The signed-in person and the bearer token their API calls carry."""

    principal: Principal
    token: str


class SignInRequired(Exception):
    """No valid session: the page redirects to the sign-in, then back."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class SignInFailed(Exception):
    """The identity provider's answer could not be used; the message says why."""


class Sessions:
    """The session cookie's contents, encrypted and authenticated, with a lifetime."""

    def __init__(self, secret: bytes, hours: float) -> None:
        key = hashlib.sha256(b"kanalvakt-web-session\0" + secret).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self.seconds = int(hours * 3600)

    def seal(self, data: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(data).encode()).decode()

    def open(self, sealed: str, seconds: int | None = None) -> dict[str, Any] | None:
        try:
            data = json.loads(self._fernet.decrypt(sealed.encode(), ttl=seconds or self.seconds))
        except (InvalidToken, ValueError):
            return None
        return data if isinstance(data, dict) else None


HOME = "/accounts"


def local_path(url: str) -> str:
    """Only a path on this site: `next=https://elsewhere` or `//elsewhere` is no redirect
    target (an open redirect would lend the kommun's name to phishing). Browsers drop tabs
    and line breaks and read `\\` as `/`, so `/<tab>/elsewhere` is refused too."""
    if (
        not url.startswith("/")
        or url.startswith("//")
        or "\\" in url
        or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url)
    ):
        return HOME
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return HOME
    return url


def _has_page(request: Request, path: str) -> bool:
    """Whether a GET of `path` is one of this app's pages."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
    # FULL only where the path and the method match (a POST-only route is PARTIAL).
    return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)


def return_to(request: Request) -> str:
    """Where signing in again comes back to: a GET's own page (with its query); for a
    form's POST, the page that held the form: the Referer if it is on this site, else the
    nearest page above the POST's path (`/moderation/X/decision` → `/moderation/X`).
    Never another site (local_path)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method in ("GET", "HEAD"):
        return local_path(here)
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.scheme in ("http", "https"):
        page = referer.path + (f"?{referer.query}" if referer.query else "")
        return local_path(page)
    parts = request.url.path.rstrip("/").split("/")
    while len(parts) > 1:
        candidate = "/".join(parts)
        if _has_page(request, candidate):
            return local_path(candidate)
        parts.pop()
    return HOME


async def current_user(request: Request) -> User:
    """Dependency of every signed-in page: the session's token, verified as the APIs
    verify it (an expired or foreign token means signing in again)."""
    sessions: Sessions = request.app.state.sessions
    here = return_to(request)
    data = sessions.open(request.cookies.get(SESSION_COOKIE, ""))
    token = data.get("token") if data else None
    if not isinstance(token, str):
        raise SignInRequired(here)
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = await verifier.verify(token)
    except (AuthError, IdentityProviderUnreachable):
        raise SignInRequired(here) from None
    request.state.user = principal  # for an error page's header
    return User(principal, token)


CurrentUser = Annotated[User, Depends(current_user)]


async def optional_user(request: Request) -> User | None:
    try:
        return await current_user(request)
    except SignInRequired:
        return None


def start_session(request: Request, token: str, next_url: str) -> Response:
    sessions: Sessions = request.app.state.sessions
    response = RedirectResponse(local_path(next_url), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, sessions.seal({"token": token}), **cookie_flags(sessions.seconds)
    )
    return response


@dataclass(frozen=True)
class LocalPerson:
    """Someone the local sign-in offers: from the kommun's configuration."""

    key: str
    kommun: str
    name: str
    email: str
    role: Role
    department: str = ""
    unit: str = ""


def configured_people(kommuner: Kommuner) -> list[LocalPerson]:
    """The people a kommun's file names, each with the role it gives them: its contacts
    (informationsansvarig, säkerhetssamordnare, diarium) and every department's and
    unit's head (P2.1, P5.6)."""
    contact_roles = {
        "informationsansvarig": Role.INFORMATION_OFFICER,
        "sakerhetssamordnare": Role.SECURITY_COORDINATOR,
        "diarium": Role.REGISTRAR,
    }
    people: list[LocalPerson] = []
    for config in kommuner:
        found: list[tuple[str, str, Role, str, str]] = []
        for contact_key, role in contact_roles.items():
            contact = config.contacts.get(contact_key)
            if contact is not None:
                found.append((contact.name, str(contact.email), role, "", ""))
        for department, dept in config.organisation.items():
            found.append(
                (dept.head.name, str(dept.head.email), Role.DEPARTMENT_HEAD, department, "")
            )
            for unit, details in dept.units.items():
                head = details.head
                found.append((head.name, str(head.email), Role.UNIT_HEAD, department, unit))
        people += [
            LocalPerson(f"{config.id}:{i}", config.id, *person) for i, person in enumerate(found)
        ]
    return people


router = APIRouter()


def _web(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.web_settings
    return settings


@router.get("/signin")
async def signin_page(request: Request, next: str = HOME) -> Response:
    settings = _web(request)
    kommuner: Kommuner = request.app.state.kommuner
    return render(
        request,
        "signin.html",
        next_url=local_path(next),
        local=settings.local_signin,
        oidc=bool(settings.oidc_client_id),
        people=configured_people(kommuner) if settings.local_signin else [],
        kommuner=list(kommuner),
        default_kommun=kommuner.default,
        roles=LOCAL_ROLES,
    )


def _local_secret(request: Request) -> str:
    settings: Settings = request.app.state.settings
    if not _web(request).local_signin or settings.auth_secret is None:
        # Production signs in at the identity provider; nothing is minted here.
        raise SignInFailed("local sign-in is off (WEB_LOCAL_SIGNIN, AUTH_SECRET)")
    return settings.auth_secret.get_secret_value()


@router.post("/signin/local")
async def signin_local(
    request: Request,
    next: Annotated[str, Form()] = HOME,
    person: Annotated[str, Form()] = "",
    kommun: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    department: Annotated[str, Form()] = "",
) -> Response:
    """A configured person (`person`), or anyone else with a name and a role."""
    secret = _local_secret(request)
    settings: Settings = request.app.state.settings
    kommuner: Kommuner = request.app.state.kommuner
    if person:
        chosen = {p.key: p for p in configured_people(kommuner)}.get(person)
        if chosen is None:
            raise SignInFailed(f"person: {person!r} is not in the configuration")
        subject, roles = chosen.email.casefold(), [chosen.role]
        kommun, name, email, department = (
            chosen.kommun,
            chosen.name,
            chosen.email,
            chosen.department,
        )
    else:
        if role not in {r.value for r in LOCAL_ROLES}:
            raise SignInFailed(f"role: choose one of {', '.join(r.value for r in LOCAL_ROLES)}")
        if len(name.strip()) < 2:
            raise SignInFailed("name: give the person's name (at least two characters)")
        if kommun not in kommuner.ids:
            raise SignInFailed(f"kommun: {kommun!r} is not served here")
        subject = email.strip().casefold() or name.strip().casefold().replace(" ", ".")
        roles = [Role(role)]
    token = mint_token(
        secret,
        subject,
        roles,
        issuer=settings.auth_issuer,
        audience=settings.auth_audience,
        name=name.strip(),
        email=email.strip(),
        department=department if Role.DEPARTMENT_HEAD in roles or Role.UNIT_HEAD in roles else "",
        kommun=kommun,
        ttl_seconds=request.app.state.sessions.seconds,
    )
    return start_session(request, token, next)


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


async def _discovery(request: Request) -> dict[str, Any]:
    """The identity provider's OpenID configuration, read once."""
    cached: dict[str, Any] | None = getattr(request.app.state, "oidc_discovery", None)
    if cached is not None:
        return cached
    web, settings = _web(request), request.app.state.settings
    url = web.oidc_discovery_url or (
        settings.auth_issuer.rstrip("/") + "/.well-known/openid-configuration"
    )
    client: httpx.AsyncClient = request.app.state.http
    try:
        answer = await client.get(url)
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInFailed(f"the identity provider's configuration ({url}): {exc}") from None
    request.app.state.oidc_discovery = found
    return found


def _redirect_uri(request: Request) -> str:
    base = _web(request).public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/signin/callback"


@router.get("/signin/oidc")
async def signin_oidc(request: Request, next: str = HOME) -> Response:
    web = _web(request)
    if not web.oidc_client_id:
        raise SignInFailed("OpenID Connect is not configured (WEB_OIDC_CLIENT_ID)")
    config = await _discovery(request)
    verifier, challenge = _pkce()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": web.oidc_client_id,
            "redirect_uri": _redirect_uri(request),
            "scope": web.oidc_scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{config['authorization_endpoint']}?{query}", status_code=303)
    sessions: Sessions = request.app.state.sessions
    pending = {"state": state, "nonce": nonce, "verifier": verifier, "next": local_path(next)}
    # Lax, not Strict: the identity provider's redirect back is a cross-site navigation.
    response.set_cookie(OIDC_COOKIE, sessions.seal(pending), **cookie_flags(OIDC_SECONDS))
    return response


@router.get("/signin/callback")
async def signin_callback(
    request: Request, code: str = "", state: str = "", error: str = ""
) -> Response:
    """The identity provider sends the person back: check `state`, trade the code and
    the PKCE verifier for tokens, verify the access token as the APIs will."""
    if error:
        raise SignInFailed(f"the identity provider answered: {error}")
    sessions: Sessions = request.app.state.sessions
    pending = sessions.open(request.cookies.get(OIDC_COOKIE, ""), OIDC_SECONDS)
    if pending is None or not secrets.compare_digest(str(pending.get("state")), state):
        raise SignInFailed("state: this sign-in was not started here, or took too long")
    web = _web(request)
    config = await _discovery(request)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": _redirect_uri(request),
        "client_id": web.oidc_client_id,
        "code_verifier": pending["verifier"],
    }
    if web.oidc_client_secret is not None:
        form["client_secret"] = web.oidc_client_secret.get_secret_value()
    client: httpx.AsyncClient = request.app.state.http
    try:
        answer = await client.post(config["token_endpoint"], data=form)
        answer.raise_for_status()
        tokens = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInFailed(f"the token endpoint: {exc}") from None
    token = tokens.get("access_token")
    if not isinstance(token, str):
        raise SignInFailed("the identity provider gave no access token")
    verifier: TokenVerifier = request.app.state.verifier
    try:  # a page saying why, not a 500
        principal = await verifier.verify(token)
    except AuthError as exc:
        raise SignInFailed(str(exc)) from None
    except IdentityProviderUnreachable:
        # The library's text ("Fail to fetch data from the url") names neither whose keys
        # nor what to do.
        raise SignInFailed(
            "the identity provider's keys (AUTH_JWKS_URL) cannot be fetched; try again shortly"
        ) from None
    if not principal.roles:
        # The identity provider knows the person, but no group of theirs is a Kanalvakt
        # role: a session would only ever meet 403s.
        claim = request.app.state.settings.auth_roles_claim
        raise SignInFailed(
            f"roles: the token's claim '{claim}' names none of Kanalvakt's roles "
            f"({', '.join(r.value for r in LOCAL_ROLES)}); ask for one at the identity provider"
        )
    response = start_session(request, token, str(pending.get("next", HOME)))
    response.delete_cookie(OIDC_COOKIE, path="/", secure=True, httponly=True)
    return response


@router.post("/signout")
async def signout(request: Request) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True)
    return response

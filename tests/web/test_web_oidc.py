"""Production sign-in (issue 14): OpenID Connect's code flow with PKCE against a stand-in
identity provider whose access tokens are RS256-signed, their keys fetched over HTTP
from its JWKS by shared.auth.TokenVerifier (the APIs' own), and roles read from a
configured group claim (AUTH_ROLES_CLAIM=groups)."""

import base64
import hashlib
import html
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr

from kanalvakt.processes import free_port
from shared.settings import Settings
from tests.helpers import CONFIG_DIR
from tests.web.conftest import SESSION_SECRET, FakeRegistry
from web.app import create_app
from web.session import OIDC_COOKIE, SESSION_COOKIE
from web.settings import WebSettings

ISSUER = "https://idp.kommun.example/realms/kommun"
IDP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "idp-1"


@dataclass
class Jwks:
    """The identity provider's JWKS endpoint, over real HTTP; counts its fetches."""

    url: str
    fetches: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def jwks() -> Iterator[Jwks]:
    jwk = json.loads(RSAAlgorithm.to_jwk(IDP_KEY.public_key())) | {"kid": KID, "use": "sig"}
    body = json.dumps({"keys": [jwk]}).encode()
    fetches: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Jwks(f"http://127.0.0.1:{server.server_port}/realms/kommun/certs", fetches)
    server.shutdown()
    server.server_close()


def idp_token(
    groups: list[str], key: rsa.RSAPrivateKey = IDP_KEY, kid: str = KID, **extra: Any
) -> str:
    """An access token as the kommun's identity provider issues it: roles in `groups`."""
    now = int(time.time())
    claims = {
        "sub": "anna.andersson",
        "name": "Anna Andersson",
        "email": "Anna@Nora.example",
        "iss": ISSUER,
        "aud": "kanalvakt",
        "iat": now,
        "exp": now + 600,
        "groups": groups,
        **extra,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _app(jwks_url: str, access_token: str) -> tuple[Any, FakeRegistry, dict[str, str]]:
    """The web part in production's shape: no shared secret, no local sign-in; the
    identity provider's discovery and token endpoints answered in-process, its keys from
    `jwks_url` over HTTP."""
    settings = Settings(
        auth_secret=None,
        auth_jwks_url=jwks_url,
        auth_issuer=ISSUER,
        auth_roles_claim="groups",
        kommun_config=CONFIG_DIR,
        default_kommun="nora",
    )
    web = WebSettings(session_secret=SecretStr(SESSION_SECRET), oidc_client_id="kanalvakt-web")
    registry = FakeRegistry()
    registry.on("GET", "/accounts", lambda r: httpx.Response(200, json=[]))
    registry.on(
        "GET",
        "/realms/kommun/.well-known/openid-configuration",
        lambda r: httpx.Response(
            200,
            json={
                "issuer": ISSUER,
                "authorization_endpoint": f"{ISSUER}/protocol/openid-connect/auth",
                "token_endpoint": f"{ISSUER}/protocol/openid-connect/token",
                "jwks_uri": jwks_url,
            },
        ),
    )
    seen: dict[str, str] = {}

    def token_endpoint(request: httpx.Request) -> httpx.Response:
        seen.update({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        return httpx.Response(200, json={"access_token": access_token, "token_type": "Bearer"})

    registry.on("POST", "/realms/kommun/protocol/openid-connect/token", token_endpoint)
    return create_app(settings, web, transport=httpx.MockTransport(registry)), registry, seen


def _start(client: TestClient) -> dict[str, str]:
    """The person presses 'Logga in': the redirect to the identity provider's page."""
    go = client.get("/signin/oidc", params={"next": "/accounts"})
    assert go.status_code == 303, go.text
    target = urlparse(go.headers["location"])
    assert f"https://{target.netloc}{target.path}" == f"{ISSUER}/protocol/openid-connect/auth"
    return {k: v[0] for k, v in parse_qs(target.query).items()}


def _who(html: str) -> str:
    found = re.search(r'<span class="who">(.*?)</span>', html, re.S)
    assert found, "no 'signed in as' in the page's header"
    return " ".join(found.group(1).split())


def test_issue_14_oidc_code_flow_rs256_token_from_jwks_roles_from_group_claim(
    jwks: Jwks,
) -> None:
    # `groups` holds the roles among the kommun's other groups; the default `roles`
    # claim is there too, and must not count (AUTH_ROLES_CLAIM=groups).
    token = idp_token(
        ["communicator", "information_officer", "GG-Nora-Alla-Anstallda"], roles=["archivist"]
    )
    app, registry, seen = _app(jwks.url, token)
    before = len(jwks.fetches)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        query = _start(client)
        assert query["code_challenge_method"] == "S256"
        assert query["response_type"] == "code"
        assert query["client_id"] == "kanalvakt-web"

        back = client.get("/signin/callback", params={"code": "c0de", "state": query["state"]})
        assert back.status_code == 303, back.text
        assert back.headers["location"] == "/accounts"
        # PKCE: the verifier traded with the code is the one the challenge was made from.
        digest = hashlib.sha256(seen["code_verifier"].encode()).digest()
        assert base64.urlsafe_b64encode(digest).decode().rstrip("=") == query["code_challenge"]
        assert seen["code"] == "c0de"
        assert SESSION_COOKIE in client.cookies
        assert OIDC_COOKIE not in client.cookies
        # The keys came from the identity provider's JWKS, over HTTP.
        assert jwks.fetches[before:]
        assert set(jwks.fetches) == {"/realms/kommun/certs"}

        page = client.get("/accounts")
        assert page.status_code == 200, page.text
        # Roles from `groups`, the unknown group dropped; `roles` (archivist) ignored.
        roles = "Driftansvarig · Informationsansvarig"
        assert _who(page.text) == f"Inloggad som Anna Andersson · {roles}"
        api_call = registry.calls[-1]
        assert api_call.url.path == "/accounts"
        assert api_call.headers["authorization"] == f"Bearer {token}"
        assert jwt.get_unverified_header(token)["alg"] == "RS256"


@pytest.mark.parametrize(
    ("token", "why"),
    [
        pytest.param(
            idp_token(
                ["communicator"], key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
            ),
            "token refused (signature)",
            id="signed-by-a-key-not-in-the-jwks",
        ),
        pytest.param(
            idp_token(
                ["communicator"],
                key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
                kid="not-in-the-jwks",
            ),
            "token refused (signing key)",
            id="key-id-not-in-the-jwks",
        ),
        pytest.param(
            idp_token(["GG-Nora-Alla-Anstallda", "Kommunikatorer"], roles=["communicator"]),
            "roles: the token's claim 'groups' names none of Kanalvakt's roles",
            id="groups-name-no-known-role",
        ),
    ],
)
def test_issue_14_oidc_sign_in_refused_with_a_readable_page(
    jwks: Jwks, token: str, why: str
) -> None:
    app, registry, _ = _app(jwks.url, token)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        query = _start(client)
        back = client.get("/signin/callback", params={"code": "c0de", "state": query["state"]})
        assert back.status_code == 400, back.text
        assert back.headers["content-type"].startswith("text/html")
        assert "Inloggningen misslyckades" in back.text
        assert why in html.unescape(back.text)
        assert token not in back.text  # the refusal never echoes the token
        assert SESSION_COOKIE not in back.headers.get("set-cookie", "")
        assert SESSION_COOKIE not in client.cookies
        # Not signed in: a page sends the person back to the sign-in, and no API is called.
        calls = len(registry.calls)
        assert client.get("/accounts").headers["location"].startswith("/signin?")
        assert not [c for c in registry.calls[calls:] if c.url.path == "/accounts"]


def test_issue_14_oidc_unreachable_jwks_at_the_callback_is_a_readable_error() -> None:
    # Nothing listens at the JWKS address: the keys cannot be fetched at the callback.
    unreachable = f"http://127.0.0.1:{free_port()}/realms/kommun/certs"
    token = idp_token(["communicator"])
    app, _, _ = _app(unreachable, token)
    # raise_server_exceptions (the default): an unhandled error would fail here, not be a 500.
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        query = _start(client)
        back = client.get("/signin/callback", params={"code": "c0de", "state": query["state"]})
        assert 400 <= back.status_code < 500, back.text
        assert "Inloggningen misslyckades" in back.text
        said = html.unescape(back.text)
        assert "the identity provider's keys (AUTH_JWKS_URL) cannot be fetched" in said
        assert "urlopen" not in said  # the library's words are no help to the person
        assert SESSION_COOKIE not in back.headers.get("set-cookie", "")
        assert SESSION_COOKIE not in client.cookies

"""Production auth: tokens signed by the identity provider, keys fetched from its JWKS."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from kanalvakt.processes import free_port
from shared.auth import AuthError, IdentityProviderUnreachable, TokenVerifier
from shared.principal import Role
from shared.settings import Settings
from tests.helpers import kommuner

ISSUER = "https://idp.kommun.example/realms/kommun"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key())) | {"kid": "k1", "use": "sig"}
    body = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/certs"
    server.shutdown()


def _signed(key: rsa.RSAPrivateKey, kid: str = "k1") -> str:
    claims = {
        "sub": "kommunchef",
        "iss": ISSUER,
        "aud": "kanalvakt",
        "exp": int(time.time()) + 60,
        "roles": ["information_officer"],
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_token_from_the_identity_provider_is_accepted(jwks_url: str) -> None:
    verifier = TokenVerifier(Settings(auth_jwks_url=jwks_url, auth_issuer=ISSUER), kommuner())
    principal = await verifier.verify(_signed(KEY))
    assert principal.roles == {Role.INFORMATION_OFFICER}


async def test_token_signed_by_another_key_is_refused(jwks_url: str) -> None:
    verifier = TokenVerifier(Settings(auth_jwks_url=jwks_url, auth_issuer=ISSUER), kommuner())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(AuthError):
        await verifier.verify(_signed(other))
    with pytest.raises(AuthError):
        await verifier.verify(_signed(KEY, kid="unknown"))


async def test_an_identity_provider_that_does_not_answer_is_not_a_bad_token() -> None:
    # Nothing listens there: the caller is told to retry (503), not that its token is bad.
    verifier = TokenVerifier(
        Settings(auth_jwks_url=f"http://127.0.0.1:{free_port()}/certs", auth_issuer=ISSUER),
        kommuner(),
    )
    with pytest.raises(IdentityProviderUnreachable):
        await verifier.verify(_signed(KEY))

"""A refused token says which check failed, and never the secret or the token (issue 7)."""
# Tokens are made when the module is collected, before the slow e2e tests run: an hour.

import time

import jwt
import pytest

from shared.auth import AuthError, TokenVerifier
from shared.settings import Settings
from tests.helpers import kommuner

SECRET = "the-test-secret-which-is-long-enough-for-hs256"


def _verifier() -> TokenVerifier:
    return TokenVerifier(Settings(auth_secret=SECRET), kommuner())


def _token(secret: str = SECRET, **claims: object) -> str:
    body = {"sub": "anna", "iss": "kanalvakt-local", "aud": "kanalvakt", "exp": time.time() + 3600}
    return jwt.encode(body | claims, secret, algorithm="HS256")


@pytest.mark.parametrize(
    ("token", "check", "says"),
    [
        (_token(exp=int(time.time()) - 10), "expired", "expired"),
        (_token(aud="someone-else"), "audience", "'kanalvakt'"),
        (_token(iss="evil"), "issuer", "'kanalvakt-local'"),
        (_token(secret="another-secret-that-is-also-long-enough-ok"), "signature", "AUTH_SECRET"),
        ("not-a-jwt", "malformed", "malformed"),
        (jwt.encode({"sub": "x", "iss": "kanalvakt-local"}, SECRET), "claims", "'exp'"),
    ],
)
async def test_a_refused_token_names_the_check_that_failed(
    token: str, check: str, says: str
) -> None:
    with pytest.raises(AuthError) as refused:
        await _verifier().verify(token)
    assert refused.value.check == check
    message = str(refused.value)
    assert message.startswith(f"token refused ({check})")
    assert says in message
    assert SECRET not in message
    assert token not in message

"""Tokens: verified by issuer, audience, expiry and signature; roles from the claim."""

import time

import jwt
import pytest
from pydantic import SecretStr

from shared.auth import AuthError, TokenVerifier, mint_token
from shared.principal import Role
from shared.settings import Settings
from tests.helpers import kommuner

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"


def _verifier(*served: str, default: str = "", **overrides: object) -> TokenVerifier:
    settings = Settings(auth_secret=SecretStr(SECRET), **overrides)  # type: ignore[arg-type]
    return TokenVerifier(settings, kommuner(*served, default=default))


def _token(**claims: object) -> str:
    now = int(time.time())
    body = {"sub": "anna", "iss": "kanalvakt-local", "aud": "kanalvakt", "exp": now + 60} | claims
    return jwt.encode(body, SECRET, algorithm="HS256")


async def test_minted_token_verifies_with_its_roles() -> None:
    token = mint_token(
        SECRET,
        "anna",
        [Role.COMMUNICATOR, Role.ADMINISTRATOR],
        issuer="kanalvakt-local",
        audience="kanalvakt",
        name="Anna Andersson",
    )
    principal = await _verifier().verify(token)
    assert principal.subject == "anna"
    assert principal.name == "Anna Andersson"
    assert principal.roles == {Role.COMMUNICATOR, Role.ADMINISTRATOR}


async def test_roles_may_be_a_space_separated_claim_and_unknown_ones_are_ignored() -> None:
    principal = await _verifier(auth_roles_claim="groups").verify(
        _token(groups="archivist sysadmin")
    )
    assert principal.roles == {Role.ARCHIVIST}


async def test_issue_14_the_directory_s_groups_grant_the_roles_they_are_mapped_to() -> None:
    groups = {"GG-Nora-Kommunikatorer": Role.COMMUNICATOR, "GG-Nora-Arkiv": Role.ARCHIVIST}
    verifier = _verifier(auth_roles_claim="groups", auth_role_groups=groups)
    claim = ["GG-Nora-Kommunikatorer", "registrar", "GG-Nora-Ekonomi"]
    principal = await verifier.verify(_token(groups=claim))
    assert principal.roles == {Role.COMMUNICATOR, Role.REGISTRAR}


def test_issue_14_a_group_mapped_to_no_role_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="auth_role_groups"):
        Settings(auth_role_groups={"GG-Nora-Kommunikatorer": "kommunikatör"})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("claims", "problem"),
    [
        ({"exp": int(time.time()) - 10}, "expired"),
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "evil"}, "issuer"),
    ],
)
async def test_bad_tokens_are_refused(claims: dict[str, object], problem: str) -> None:
    with pytest.raises(AuthError, match=f"(?i){problem}"):
        await _verifier().verify(_token(**claims))


async def test_wrong_signature_is_refused() -> None:
    forged = jwt.encode(
        {"sub": "x", "iss": "kanalvakt-local", "aud": "kanalvakt", "exp": int(time.time()) + 60},
        "another-secret-that-is-also-long-enough-ok",
        algorithm="HS256",
    )
    with pytest.raises(AuthError, match="Signature"):
        await _verifier().verify(forged)


def test_a_service_without_a_way_to_verify_tokens_does_not_start() -> None:
    with pytest.raises(ValueError, match="AUTH_JWKS_URL or AUTH_SECRET"):
        TokenVerifier(Settings(), kommuner())


# Issue 8: the token names the kommun the caller acts for.


async def test_the_token_names_the_kommun_the_caller_acts_for() -> None:
    verifier = _verifier("nora", "vasterby")
    assert (await verifier.verify(_token(kommun="vasterby"))).kommun == "vasterby"
    assert (await verifier.verify(_token(kommun="nora"))).kommun == "nora"


async def test_a_token_of_a_kommun_not_served_here_is_refused() -> None:
    with pytest.raises(AuthError, match="not served here") as refused:
        await _verifier("nora").verify(_token(kommun="lindesberg"))
    assert refused.value.check == "kommun"
    assert "lindesberg" not in str(refused.value), "no claim's value in a refusal"


async def test_a_token_without_kommun_belongs_to_the_default_or_is_refused() -> None:
    assert (await _verifier("nora").verify(_token())).kommun == "nora", "the only kommun"
    assert (await _verifier("nora", "vasterby", default="vasterby").verify(_token())).kommun == (
        "vasterby"
    )
    with pytest.raises(AuthError, match="DEFAULT_KOMMUN"):
        await _verifier("nora", "vasterby").verify(_token())


async def test_the_kommun_claim_is_configurable() -> None:
    verifier = _verifier("nora", "vasterby", auth_kommun_claim="municipality")
    assert (await verifier.verify(_token(municipality="vasterby"))).kommun == "vasterby"

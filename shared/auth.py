"""Who is calling: bearer JWTs, verified against the identity provider's JWKS in
production or a shared secret locally; roles and the kommun come from configurable claims.
"""

import asyncio
import time
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.kommun import Kommuner
from shared.principal import Principal, Role
from shared.settings import Settings


class AuthError(Exception):
    """A refused token: `check` names the check that failed, the message says how to
    mend it. Neither ever holds the token, its claims' values or a key."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(f"token refused ({check}): {message}")
        self.check = check


def _refusal(exc: jwt.PyJWTError, issuer: str, audience: str, local: bool) -> AuthError:
    """Which check failed, in words that leak nothing. Order matters: PyJWT's signature
    error is a kind of decode error, and the claim errors are kinds of invalid token."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return AuthError("expired", "the token has expired (exp); get a new one")
    if isinstance(exc, jwt.ImmatureSignatureError):
        return AuthError("not yet valid", "the token is not valid yet (nbf or iat)")
    if isinstance(exc, jwt.InvalidAudienceError):
        return AuthError("audience", f"wrong audience (aud); this API expects '{audience}'")
    if isinstance(exc, jwt.InvalidIssuerError):
        return AuthError("issuer", f"wrong issuer (iss); this API expects '{issuer}'")
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return AuthError("claims", f"the token lacks the claim '{exc.claim}'")
    if isinstance(exc, jwt.InvalidSignatureError):
        where = (
            "the local secret (AUTH_SECRET, or the data dir's that `kanalvakt up` uses): "
            "mint it with `kanalvakt token` where `up` runs"
            if local
            else "the identity provider's keys (AUTH_JWKS_URL)"
        )
        return AuthError("signature", f"Signature verification failed: not signed with {where}")
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return AuthError("algorithm", "the token is signed with an algorithm this API refuses")
    if isinstance(exc, jwt.PyJWKClientError):
        return AuthError("signing key", "no key of the identity provider matches the token")
    if isinstance(exc, jwt.DecodeError):
        return AuthError("malformed", "this is not a well-formed JWT (header.payload.signature)")
    return AuthError("invalid", f"the token is not valid ({type(exc).__name__})")


class IdentityProviderUnreachable(Exception):
    """The identity provider's keys could not be fetched: nothing is known of the token,
    so the caller is told to retry (503), not that its token is bad."""


class TokenVerifier:
    def __init__(self, settings: Settings, kommuner: Kommuner) -> None:
        self._issuer = settings.auth_issuer
        self._audience = settings.auth_audience
        self._roles_claim = settings.auth_roles_claim
        # The identity provider's groups as roles; Kanalvakt's role names as themselves.
        self._granted = {r.value: r for r in Role} | dict(settings.auth_role_groups)
        self._department_claim = settings.auth_department_claim
        self._kommun_claim = settings.auth_kommun_claim
        self._kommuner = kommuner
        self._jwks = jwt.PyJWKClient(settings.auth_jwks_url) if settings.auth_jwks_url else None
        self._secret = settings.auth_secret.get_secret_value() if settings.auth_secret else None
        if self._jwks is None and not self._secret:
            raise ValueError("AUTH_JWKS_URL or AUTH_SECRET must be set: no way to verify tokens")

    async def verify(self, token: str) -> Principal:
        try:
            if self._jwks is not None:
                # The JWKS client fetches and caches keys over the network: not on the loop.
                key: Any = (await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)).key
                algorithms = ["RS256", "ES256", "PS256"]
            else:
                key, algorithms = self._secret, ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWKClientConnectionError as exc:
            raise IdentityProviderUnreachable(str(exc)) from None
        except jwt.PyJWTError as exc:
            raise _refusal(exc, self._issuer, self._audience, self._jwks is None) from None
        raw_roles = claims.get(self._roles_claim, [])
        if isinstance(raw_roles, str):
            raw_roles = raw_roles.split()
        roles = frozenset(self._granted[r] for r in raw_roles if r in self._granted)
        return Principal(
            subject=str(claims["sub"]),
            name=str(claims.get("name", claims["sub"])),
            roles=roles,
            email=str(claims.get("email", "")).casefold(),
            department=str(claims.get(self._department_claim, "")),
            kommun=self._kommun_of(claims),
        )

    def _kommun_of(self, claims: dict[str, Any]) -> str:
        """The kommun the caller acts for: the claim's, or the deployment's default."""
        claim = self._kommun_claim
        named = str(claims.get(claim, ""))
        if named:
            if named not in self._kommuner.ids:
                raise AuthError(
                    "kommun", f"the token's kommun (claim '{claim}') is not served here"
                )
            return named
        if not self._kommuner.default:
            raise AuthError(
                "kommun",
                f"the token names no kommun (claim '{claim}'), and this deployment serves "
                "several with no DEFAULT_KOMMUN",
            )
        return self._kommuner.default


def mint_token(
    secret: str,
    subject: str,
    roles: list[Role],
    *,
    issuer: str,
    audience: str,
    name: str = "",
    email: str = "",
    department: str = "",
    kommun: str = "",
    ttl_seconds: int = 8 * 3600,
) -> str:
    """A locally signed token (`kanalvakt token`); production tokens come from the IdP."""
    now = int(time.time())
    claims = {
        "sub": subject,
        "name": name or subject,
        "roles": [r.value for r in roles],
        **({"email": email} if email else {}),
        **({"department": department} if department else {}),
        **({"kommun": kommun} if kommun else {}),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


_bearer = HTTPBearer(auto_error=False)


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "token refused (missing): no bearer token (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: TokenVerifier = request.app.state.verifier
    try:
        return await verifier.verify(credentials.credentials)
    except AuthError as exc:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}
        ) from None
    except IdentityProviderUnreachable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the identity provider's keys (AUTH_JWKS_URL) cannot be fetched; try again shortly",
            headers={"Retry-After": "5"},
        ) from None


class RoleCheck:
    """The dependency `require` makes; its roles are also what the OpenAPI document
    says a route needs (shared.http)."""

    def __init__(self, roles: tuple[Role, ...]) -> None:
        self.roles = roles

    async def __call__(
        self, principal: Annotated[Principal, Depends(current_principal)]
    ) -> Principal:
        if not principal.roles & set(self.roles):
            wanted = ", ".join(r.value for r in self.roles)
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {wanted}")
        return principal


def require(*roles: Role) -> Any:
    """Dependency: the caller must hold at least one of `roles` (403 otherwise)."""
    return Depends(RoleCheck(roles))

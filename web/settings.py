"""What the web part reads from its environment (README, "Web interface").

The services' own settings (AUTH_*, KOMMUN_CONFIG, HTTP_HOST, HTTP_PORT) are read with
shared.settings.Settings, so the web trusts exactly the issuer and keys the APIs trust.
"""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_WEB_PORT = 8005  # the port after the four services' (8001–8004)


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore", frozen=True)

    session_secret: SecretStr = Field(
        min_length=32,
        description="Key for the session and CSRF cookies, 32+ characters; `kanalvakt up` "
        "makes one. Changing it signs everyone out.",
    )
    registry_url: str = Field(default="http://127.0.0.1:8001", description="Registry API.")
    moderation_url: str = Field(default="http://127.0.0.1:8002", description="Moderation API.")
    archive_url: str = Field(default="http://127.0.0.1:8003", description="Archive API.")
    notify_url: str = Field(default="http://127.0.0.1:8004", description="Notify API.")
    api_timeout_seconds: float = Field(default=10.0, gt=0, description="Per API call.")
    local_signin: bool = Field(
        default=False,
        description="Offer the local sign-in page (`kanalvakt up`): pick a configured "
        "person and role, signed with AUTH_SECRET. Never in production.",
    )
    oidc_discovery_url: str = Field(
        default="",
        description="The identity provider's OpenID configuration; empty means "
        "AUTH_ISSUER + /.well-known/openid-configuration.",
    )
    oidc_client_id: str = Field(default="", description="This web part's client at the IdP.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Its secret, for a confidential client (PKCE either way)."
    )
    oidc_scopes: str = Field(default="openid profile email", description="Scopes asked for.")
    public_url: str = Field(
        default="",
        description="The web part's own address (https://kanalvakt.kommun.example), for the "
        "OIDC redirect; empty means the address the request came to.",
    )
    session_hours: float = Field(default=8.0, gt=0, le=24, description="A session's life.")

"""Settings every service reads from its environment (documented in README, "Settings").

Each has a default that works on one machine with `kanalvakt up`; production sets them
in the pod's environment.
"""

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.principal import Role
from shared.reference import REFERENCE_KOMMUN_CONFIG


class ServiceName(StrEnum):
    REGISTRY = "registry"
    MODERATION = "moderation"
    ARCHIVE = "archive"
    NOTIFY = "notify"


# Local HTTP ports, one per service, so that all four can run side by side.
DEFAULT_HTTP_PORTS: dict[ServiceName, int] = {
    ServiceName.REGISTRY: 8001,
    ServiceName.MODERATION: 8002,
    ServiceName.ARCHIVE: 8003,
    ServiceName.NOTIFY: 8004,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    service: ServiceName = Field(
        default=ServiceName.REGISTRY,
        description="Which service this process runs; `kanalvakt run SERVICE` sets it.",
    )
    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server(s).")
    mongodb_url: str = Field(
        default="mongodb://127.0.0.1:27017", description="MongoDB (or nx-27017) connection."
    )
    mongodb_database: str = Field(
        default="", description="The service's own database; empty means kanalvakt_<service>."
    )
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP server binds.")
    http_port: int = Field(
        default=0, ge=0, le=65535, description="HTTP port; 0 means the service's local default."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="DEBUG, INFO, WARNING or ERROR."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="json in production, text locally."
    )
    kommun_config: Path = Field(
        default=REFERENCE_KOMMUN_CONFIG,
        description="A kommun's configuration file, or a directory of them (one `*.yaml` per "
        "kommun, all served); the reference one shipped in the package by default "
        "(`kanalvakt init DIR` writes a copy to edit).",
    )
    default_kommun: str = Field(
        default="",
        description="Id of the kommun that tokens without a kommun claim, and /public/accounts "
        "without a configured host, belong to. Empty: the only kommun, if there is one; with "
        "several, such tokens are refused.",
    )
    auth_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Shared HS256 secret, 32+ characters (local; `kanalvakt up` makes one). "
        "Unset in production.",
    )
    auth_issuer: str = Field(default="kanalvakt-local", description="Expected `iss` of tokens.")
    auth_audience: str = Field(default="kanalvakt", description="Expected `aud` of tokens.")
    auth_jwks_url: str = Field(
        default="", description="JWKS of the identity provider (production)."
    )
    auth_roles_claim: str = Field(default="roles", description="Claim that lists the roles.")
    auth_role_groups: dict[str, Role] = Field(
        default_factory=dict,
        description=(
            "Groups in the roles claim that grant a role, as JSON, e.g. "
            '`{"GG-Kommunikatorer": "communicator"}`; a role\'s own name always does.'
        ),
    )
    auth_department_claim: str = Field(
        default="department", description="Claim naming a department head's förvaltning."
    )
    auth_kommun_claim: str = Field(
        default="kommun", description="Claim naming the caller's kommun (its `kommun.id`)."
    )
    bus_pull_batch: int = Field(
        default=20,
        ge=1,
        le=1000,
        description="Messages fetched per pull request, handled at once. Fewer in flight "
        "keep the store's queue short, so a threat's writes do not wait behind a storm's "
        "(bench/README.md: 20 keeps 100's throughput and halves the escalation's delay).",
    )
    bus_ack_wait_seconds: float = Field(
        default=15.0,
        gt=0,
        description="How long a message held by a process that stopped answering (killed, "
        "frozen) waits before JetStream resends it; a running handler renews it every "
        "third of it.",
    )
    bus_retry_delay_seconds: float = Field(
        default=1.0, gt=0, description="First delay before a failed message is retried."
    )
    bus_retry_max_delay_seconds: float = Field(
        default=300.0, gt=0, description="Longest delay between retries (backoff doubles)."
    )
    scheduler_interval_seconds: float = Field(
        default=30.0, gt=0, description="How often time-driven rules are checked (registry)."
    )
    bus_duplicate_window_seconds: float = Field(
        default=600.0, gt=0, description="JetStream de-duplication window on Nats-Msg-Id."
    )
    bus_stream_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Replicas of the JetStream streams: 3 in production, on a 3-node NATS "
        "cluster (deploy/k8s/overlays/prod).",
    )
    moderation_sweep_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often moderation checks deadlines and supervision."
    )
    archive_sweep_interval_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How often the archive registers what waits (P10.3) and takes the "
        "snapshots due (P10.5).",
    )
    archive_verify_interval_seconds: float = Field(
        default=3600.0, gt=0, description="How often the archive re-verifies its hash chains."
    )
    archive_cull_interval_seconds: float = Field(
        default=86400.0, gt=0, description="How often the archive culls under its retention rules."
    )
    meta_app_secret: SecretStr | None = Field(
        default=None,
        description="Meta app secret: webhook POSTs are verified with it (X-Hub-Signature-256). "
        "Unset: the Meta webhook refuses every call.",
    )
    meta_verify_token: SecretStr | None = Field(
        default=None, description="The token Meta's webhook verification (GET) must send."
    )
    meta_graph_url: str = Field(
        default="https://graph.facebook.com", description="Meta Graph API base address."
    )
    meta_graph_version: str = Field(default="v26.0", description="Meta Graph API version.")
    meta_page_tokens_file: Path | None = Field(
        default=None,
        description="YAML file (a mounted secret) of Page access tokens: `<kommun>: {<account "
        "name>: <token>}`. An account without one has its platform actions done by hand.",
    )
    connector_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Timeout of one call to a platform's API."
    )
    connector_attempts: int = Field(
        default=4, ge=1, le=10, description="Tries of a platform call on 5xx or 429 (backoff)."
    )
    smtp_host: str = Field(
        default="", description="SMTP server notify sends e-mail through. Unset: none is sent."
    )
    smtp_port: int = Field(default=587, gt=0, lt=65536, description="SMTP port.")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description="`starttls` (port 587), `tls` (implicit TLS, port 465), `none` (a relay "
        "on a trusted network or a test).",
    )
    smtp_username: str = Field(default="", description="SMTP login; empty: no AUTH.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_timeout_seconds: float = Field(default=15.0, gt=0, description="One SMTP session.")
    smtp_ca_file: Path | None = Field(
        default=None,
        description="CA certificates (PEM) the SMTP server's certificate must chain to, e.g. "
        "the kommun's internal CA. Unset: the system's trusted CAs.",
    )
    notify_webhook_secrets_file: Path | None = Field(
        default=None,
        description="YAML file (a mounted secret) of webhook signing keys: `<kommun>: {<name>: "
        "<key>}`, named by each webhook's `secret` in the kommun's configuration.",
    )
    notify_ack_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs acknowledge links (P5.6, P5.8). Unset: a key is made at "
        "start, so links die with the process (fine for one local replica only).",
    )
    notify_delivery_interval_seconds: float = Field(
        default=5.0, gt=0, description="How often notify sends what is due (retries, digests)."
    )
    notify_ladder_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often notify climbs the ladder of unacknowledged escalations (P5.6).",
    )
    otel_exporter_otlp_endpoint: str = Field(
        default="",
        description="OpenTelemetry collector (OTLP over HTTP, e.g. `http://127.0.0.1:4318`): "
        "traces are exported there. Unset: nothing is traced.",
    )

    @property
    def database_name(self) -> str:
        return self.mongodb_database or f"kanalvakt_{self.service.value}"

    @property
    def port(self) -> int:
        return self.http_port or DEFAULT_HTTP_PORTS[self.service]


def settings_table() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every setting: the README's table is made from it."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "" if default in (None, {}) else str(getattr(default, "value", default))
        rows.append((name.upper(), shown, field.description or ""))
    return rows

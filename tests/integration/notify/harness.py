"""A running notify service on real NATS and the store, a real SMTP server (aiosmtpd) and
a webhook receiver on a real port: events published as their producers would, a clock
the test sets, and every message delivered, to read.

Every message any notify test delivers is also kept in DELIVERED_IN_SUITE, which
test_zz_no_personnummer.py searches last (issue 11)."""

import asyncio
import email
import email.policy
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import nats
import uvicorn
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from kanalvakt.catalog import parts_of
from kanalvakt.processes import free_port
from services.notify.domain.notifications import Status
from services.notify.handlers import events
from services.notify.store import NotifyStore
from shared.bus.streams import EVENTS_STREAM
from shared.kommun import KommunConfig
from shared.principal import Role
from shared.service import Dependencies, build_service
from shared.settings import ServiceName
from tests.helpers import eventually, kommun_config, service_settings
from tests.integration.moderation.harness import MONDAY, Clock
from tests.integration.registry.harness import headers
from tests.integration.running import Running

__all__ = ["MONDAY", "Clock"]

HOST = "127.0.0.1"
INFORMATION_OFFICER = headers("kommunchef", Role.INFORMATION_OFFICER)
OPERATIONS = headers("drift", Role.OPERATIONS)
WEBHOOK_KEY = "webhook-test-key-not-a-secret"

# Every e-mail body and webhook body delivered in this test session.
DELIVERED_IN_SUITE: list[str] = []


@dataclass
class Mailbox:
    """What the SMTP server received."""

    messages: list[EmailMessage] = field(default_factory=list)

    def to(self, address: str, about: str = "") -> list[EmailMessage]:
        """Messages to `address`; with `about`, only those of notifications of that event
        (the stream is the session's: a new consumer also gets earlier tests' events)."""
        return [
            m
            for m in self.messages
            if address.lower() in str(m["To"]).lower()
            and about in str(m.get("X-Kanalvakt-Notification", ""))
        ]


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mailbox.messages.append(message)
        DELIVERED_IN_SUITE.append(raw.decode("utf-8", "replace"))
        for part in message.walk():
            if part.get_content_maintype() == "text":
                DELIVERED_IN_SUITE.append(str(part.get_content()))
        return "250 OK"


@dataclass
class Hook:
    """One request the webhook receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A real HTTP server; `fail` answers 503 to that many requests first (or all: -1)."""

    port: int
    received: list[Hook] = field(default_factory=list)
    fail: int = 0

    def url(self, name: str = "hook") -> str:
        return f"http://{HOST}:{self.port}/{name}"

    async def __call__(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(Hook(request.url.path, dict(request.headers), body))
        DELIVERED_IN_SUITE.append(body.decode("utf-8", "replace"))
        if self.fail:
            self.fail -= 1 if self.fail > 0 else 0
            return Response("down for a test", status_code=503)
        return Response(status_code=204)


@dataclass
class Notify(Running):
    clock: Clock
    mailbox: Mailbox
    webhooks: WebhookReceiver

    @property
    def deps(self) -> Dependencies[NotifyStore]:
        deps: Dependencies[NotifyStore] = self.app.state.deployment.of("nora")
        return deps

    async def mail_to(
        self, address: str, count: int = 1, what: str = "", about: str = ""
    ) -> list[EmailMessage]:
        """The messages delivered to `address` (about the event `about`, if given) once
        there are at least `count`."""

        async def arrived() -> bool:
            return len(self.mailbox.to(address, about)) >= count

        await eventually(arrived, what=what or f"{count} message(s) to {address}")
        return self.mailbox.to(address, about)

    async def until(self, check: Callable[[], Any], what: str) -> None:
        async def ready() -> bool:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            return bool(result)

        await eventually(ready, what=what)


async def _forget_earlier_tests(service: Notify) -> None:
    """The test session's NATS is shared: a notify started for one test also gets what
    earlier tests published (all of it, the first time its durable consumers are made).
    Those events are let through, and what they caused is forgotten, so that each test
    sees its own notifications, escalations and mail only."""
    store = service.deps.store
    busy = [Status.PENDING.value, Status.HELD.value]

    async def settled() -> bool:
        for subscription in events.subscriptions:
            info = await service.js.consumer_info(EVENTS_STREAM, subscription.durable)
            if info.num_pending or info.num_ack_pending:
                return False
        now = service.clock()
        if await store.notifications.due(now):
            return False
        sending = {"status": {"$in": busy}, "claimed_until": {"$gt": now}}
        return not await store.notifications.repo.find(sending, limit=1)

    await eventually(settled, within=60, what="earlier tests' events handled")
    for repo in (store.notifications.repo, store.escalations.repo, store.waiting.repo):
        await repo.collection.delete_many({})
    service.mailbox.messages.clear()
    service.webhooks.received.clear()


def _config(tmp: Path, notify: dict[str, Any] | None) -> Path:
    """The reference kommun (as nora), its `notify` section changed by the test."""
    base: KommunConfig = kommun_config("nora")
    raw = base.model_dump(mode="json", exclude_none=True)
    raw["kommun"]["name"] = "Nora kommun"
    if notify is not None:
        raw["notify"] = raw.get("notify", {}) | notify
    path = tmp / "nora.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    KommunConfig.model_validate(raw)  # a test's mistake shows here, not in the service
    return path


@asynccontextmanager
async def notify(
    nats_url: str,
    mongodb_url: str,
    tmp_path: Path,
    clock: Clock | None = None,
    *,
    config: dict[str, Any] | None = None,
    **changes: Any,
) -> AsyncIterator[Notify]:
    """A notify service with a database of its own, an SMTP server and a webhook receiver
    of its own. `config` changes the kommun's `notify` section (recipients, webhooks,
    routes); a webhook's `secret: test` signs with WEBHOOK_KEY. Deliveries run every
    0.2 s by the service's own loop; the ladder is left to the test."""
    clock = clock or Clock()
    mailbox = Mailbox()
    smtp = Controller(_Handler(mailbox), hostname=HOST, port=free_port())
    smtp.start()
    receiver = WebhookReceiver(free_port())
    hooks = FastAPI()

    async def endpoint(request: Request) -> Response:
        return await receiver(request)

    hooks.add_route("/{name}", endpoint, methods=["POST"])
    server = uvicorn.Server(
        uvicorn.Config(hooks, host=HOST, port=receiver.port, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    secrets = tmp_path / "webhook-secrets.yaml"
    secrets.write_text(yaml.safe_dump({"nora": {"test": WEBHOOK_KEY}}), encoding="utf-8")
    settings = service_settings(
        ServiceName.NOTIFY,
        nats_url,
        mongodb_url,
        **(
            {
                "kommun_config": _config(tmp_path, config),
                "smtp_host": HOST,
                "smtp_port": smtp.port,
                "smtp_security": "none",
                "notify_webhook_secrets_file": secrets,
                "notify_delivery_interval_seconds": 0.2,
                "notify_ladder_interval_seconds": 3600,
            }
            | changes
        ),
    )
    app = build_service(parts_of(ServiceName.NOTIFY), settings, clock)
    nc = await nats.connect(nats_url)
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await asyncio.sleep(0.01)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://notify") as client:
                service = Notify(client, app, nc.jetstream(), clock, mailbox, receiver)
                await _forget_earlier_tests(service)
                yield service
    finally:
        await nc.close()
        server.should_exit = True
        await serving
        smtp.stop()

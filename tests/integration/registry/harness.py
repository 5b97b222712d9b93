"""A running registry on real NATS and the store, with people to act as and a view of
what it published."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import nats
from fastapi import FastAPI
from nats.js import JetStreamContext

from kanalvakt.catalog import parts_of
from services.registry import scheduler
from shared.auth import mint_token
from shared.bus.streams import EVENTS_STREAM
from shared.clock import Clock, utcnow
from shared.ids import new_id
from shared.principal import Role
from shared.service import build_service
from shared.settings import ServiceName
from tests.helpers import SECRET, plan_json, read_to_end, service_settings

DEPARTMENT = "Kommunstyrelseförvaltningen"


def headers(sub: str, *roles: Role, email: str = "", department: str = "") -> dict[str, str]:
    token = mint_token(
        SECRET,
        sub,
        list(roles),
        issuer="kanalvakt-local",
        audience="kanalvakt",
        name=sub.title(),
        email=email,
        department=department,
    )
    return {"Authorization": f"Bearer {token}"}


COMMUNICATOR = headers("cecilia", Role.COMMUNICATOR)
ADMIN_1 = headers("anna", Role.ADMINISTRATOR, email="anna.andersson@nora.example")
ADMIN_2 = headers("bengt", Role.ADMINISTRATOR, email="bengt.berg@nora.example")
DEPARTMENT_HEAD = headers("dora", Role.DEPARTMENT_HEAD, department=DEPARTMENT)
INFORMATION_OFFICER = headers("kommunchef", Role.INFORMATION_OFFICER)
ARCHIVIST = headers("arkivarie", Role.ARCHIVIST)

SIGNERS = {
    "administrator_1": ADMIN_1,
    "administrator_2": ADMIN_2,
    "department_head": DEPARTMENT_HEAD,
    "information_officer": INFORMATION_OFFICER,
}
PROFILE = {
    "logo_and_kommun_name": True,
    "purpose_and_official_account": True,
    "unit_part_of_kommun": True,
    "update_frequency": True,
    "contacts_and_link_to_kommun_site": True,
}


def unique_plan(**changes: Any) -> dict[str, Any]:
    """The example plan under a handle of its own, so tests share a store without clashing."""
    handle = f"norakommun{new_id().lower()[-10:]}"
    return plan_json(handle=handle, url=f"https://www.facebook.com/{handle}") | changes


@dataclass
class Registry:
    client: httpx.AsyncClient
    app: FastAPI
    js: JetStreamContext

    async def tick(self, now: datetime) -> None:
        """The scheduler at a time of the test's choosing, for every kommun."""
        await scheduler.tick(self.app.state.deployment, now)

    async def events(self, subject: str, about: str, kommun: str = "*") -> list[dict[str, Any]]:
        """Every event on `subject` (wildcards allowed) of `kommun` (every one by default)
        whose data names `about`, the late ones included: what the registry still holds
        queued is sent first, then the stream is read to its end. So `== []` means none
        was caused, not none yet. `_subject` is the event's name, `_kommun` the subject's
        last token."""
        await self.drain()
        messages = await read_to_end(self.js, f"{subject}.{kommun}", EVENTS_STREAM)
        found = [
            json.loads(m.data)
            | {"_subject": m.subject.rpartition(".")[0], "_kommun": m.subject.rpartition(".")[2]}
            for m in messages
        ]
        return [e for e in found if about in json.dumps(e["data"])]

    async def drain(self) -> None:
        """Sends what the registry's outboxes still hold, as its periodic sweep would.
        Every event it publishes goes through an outbox (shared.outbox) and is on the
        stream once sent, so after this none the test's actions caused is still to come."""
        for deps in self.app.state.deployment:
            for outbox in deps.store.outboxes():
                await outbox.sweep(deps.uow.publisher)

    async def submit(self, **changes: Any) -> dict[str, Any]:
        answer = await self.client.post(
            "/accounts", json=unique_plan(**changes), headers=COMMUNICATOR
        )
        assert answer.status_code == 201, answer.text
        account: dict[str, Any] = answer.json()
        return account

    async def approve(self, account_id: str) -> dict[str, Any]:
        answer = None
        for role, who in SIGNERS.items():
            answer = await self.client.post(
                f"/accounts/{account_id}/signatures", json={"role": role}, headers=who
            )
            assert answer.status_code == 200, answer.text
        assert answer is not None
        account: dict[str, Any] = answer.json()
        return account

    async def activate(self, account_id: str, *, approve: bool = True) -> dict[str, Any]:
        if approve:
            await self.approve(account_id)
        deposit = {
            "location": "Kassaskåpet, kommunledningskontoret",
            "deposited_at": "2026-11-20T10:00:00+01:00",
        }
        answer = await self.client.put(
            f"/accounts/{account_id}/credentials", json=deposit, headers=INFORMATION_OFFICER
        )
        assert answer.status_code == 200, answer.text
        answer = await self.client.put(
            f"/accounts/{account_id}/profile", json=PROFILE, headers=ADMIN_1
        )
        assert answer.status_code == 200, answer.text
        account: dict[str, Any] = answer.json()
        return account


@asynccontextmanager
async def registry(
    nats_url: str, mongodb_url: str, database: str = "", clock: Clock = utcnow
) -> AsyncIterator[Registry]:
    """A registry with a database of its own, or `database` to share one (replicas);
    `clock` sets the time its routes and handlers see."""
    settings = service_settings(
        ServiceName.REGISTRY,
        nats_url,
        mongodb_url,
        **({"mongodb_database": database} if database else {}),
    )
    app = build_service(parts_of(ServiceName.REGISTRY), settings, clock)
    nc = await nats.connect(nats_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            yield Registry(client, app, nc.jetstream())
    await nc.close()

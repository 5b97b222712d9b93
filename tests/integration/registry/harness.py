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


def headers(
    sub: str, *roles: Role, email: str = "", department: str = "", kommun: str = ""
) -> dict[str, str]:
    """A bearer token; without `kommun`, for the service's default kommun."""
    token = mint_token(
        SECRET,
        sub,
        list(roles),
        issuer="kanalvakt-local",
        audience="kanalvakt",
        name=sub.title(),
        email=email,
        department=department,
        kommun=kommun,
    )
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class People:
    """One kommun's staff as a test acts as them, and what its plans name."""

    kommun: str  # the token claim; "" is the default kommun's, as a token without one
    handle: str  # the kommun's name as a handle starts (P4.2)
    domain: str
    department: str
    unit: str

    def person(self, sub: str, *roles: Role, **claims: str) -> dict[str, str]:
        return headers(sub, *roles, kommun=self.kommun, **claims)

    def email(self, local: str) -> str:
        return f"{local}@{self.domain}"

    @property
    def communicator(self) -> dict[str, str]:
        return self.person("cecilia", Role.COMMUNICATOR)

    @property
    def signers(self) -> dict[str, dict[str, str]]:
        return {
            "administrator_1": self.person(
                "anna", Role.ADMINISTRATOR, email=self.email("anna.andersson")
            ),
            "administrator_2": self.person(
                "bengt", Role.ADMINISTRATOR, email=self.email("bengt.berg")
            ),
            "department_head": self.person(
                "dora", Role.DEPARTMENT_HEAD, department=self.department
            ),
            "information_officer": self.person("kommunchef", Role.INFORMATION_OFFICER),
        }

    @property
    def archivist(self) -> dict[str, str]:
        return self.person("arkivarie", Role.ARCHIVIST)

    def plan(self, **changes: Any) -> dict[str, Any]:
        """The example plan under a handle of its own, in this kommun's organisation, so
        tests share a store without clashing."""
        handle = f"{self.handle}{new_id().lower()[-10:]}"
        plan = plan_json(
            handle=handle,
            url=f"https://www.facebook.com/{handle}",
            department=self.department,
            unit=self.unit,
        )
        for group in ("administrators", "operators"):
            plan[group] = [
                person | {"email": person["email"].replace("nora.example", self.domain)}
                for person in plan[group]
            ]
        return plan | changes


# The reference kommun's people, whose tokens name no kommun (the default one).
NORA = People("", "norakommun", "nora.example", DEPARTMENT, "Näringsliv")
COMMUNICATOR = NORA.communicator
SIGNERS = NORA.signers
ADMIN_1 = SIGNERS["administrator_1"]
ADMIN_2 = SIGNERS["administrator_2"]
DEPARTMENT_HEAD = SIGNERS["department_head"]
INFORMATION_OFFICER = SIGNERS["information_officer"]
ARCHIVIST = NORA.archivist

PROFILE = {
    "logo_and_kommun_name": True,
    "purpose_and_official_account": True,
    "unit_part_of_kommun": True,
    "update_frequency": True,
    "contacts_and_link_to_kommun_site": True,
    "posts_public_and_personal_data": True,  # P5.7
}


def unique_plan(**changes: Any) -> dict[str, Any]:
    """The example plan under a handle of its own, so tests share a store without clashing."""
    return NORA.plan(**changes)


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
        found = []
        for m in messages:
            if about.encode() not in m.data:
                continue  # others' events, and the malformed bodies the bus tests send
            name, _, kommun_of = m.subject.rpartition(".")
            found.append(json.loads(m.data) | {"_subject": name, "_kommun": kommun_of})
        return [e for e in found if about in json.dumps(e["data"])]

    async def drain(self) -> None:
        """Sends what the registry's outboxes still hold, as its periodic sweep would.
        Every event it publishes goes through an outbox (shared.outbox) and is on the
        stream once sent, so after this none the test's actions caused is still to come."""
        for deps in self.app.state.deployment:
            for outbox in deps.store.outboxes():
                await outbox.sweep(deps.uow.publisher)

    async def submit(self, people: People = NORA, **changes: Any) -> dict[str, Any]:
        answer = await self.client.post(
            "/accounts", json=people.plan(**changes), headers=people.communicator
        )
        assert answer.status_code == 201, answer.text
        account: dict[str, Any] = answer.json()
        return account

    async def approve(self, account_id: str, people: People = NORA) -> dict[str, Any]:
        answer = None
        for role, who in people.signers.items():
            answer = await self.client.post(
                f"/accounts/{account_id}/signatures", json={"role": role}, headers=who
            )
            assert answer.status_code == 200, answer.text
        assert answer is not None
        account: dict[str, Any] = answer.json()
        return account

    async def activate(
        self, account_id: str, *, approve: bool = True, people: People = NORA
    ) -> dict[str, Any]:
        if approve:
            await self.approve(account_id, people)
        signers = people.signers
        deposit = {
            "location": "Kassaskåpet, kommunledningskontoret",
            "deposited_at": "2026-11-20T10:00:00+01:00",
        }
        answer = await self.client.put(
            f"/accounts/{account_id}/credentials",
            json=deposit,
            headers=signers["information_officer"],
        )
        assert answer.status_code == 200, answer.text
        answer = await self.client.put(
            f"/accounts/{account_id}/profile", json=PROFILE, headers=signers["administrator_1"]
        )
        assert answer.status_code == 200, answer.text
        account: dict[str, Any] = answer.json()
        return account


@asynccontextmanager
async def registry(
    nats_url: str, mongodb_url: str, database: str = "", clock: Clock = utcnow, **changes: Any
) -> AsyncIterator[Registry]:
    """A registry with a database of its own, or `database` to share one (replicas);
    `clock` sets the time its routes and handlers see; `changes` other settings."""
    settings = service_settings(
        ServiceName.REGISTRY,
        nats_url,
        mongodb_url,
        **({"mongodb_database": database} if database else {}),
        **changes,
    )
    app = build_service(parts_of(ServiceName.REGISTRY), settings, clock)
    nc = await nats.connect(nats_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            yield Registry(client, app, nc.jetstream())
    await nc.close()

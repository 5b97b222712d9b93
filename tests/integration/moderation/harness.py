"""A running moderation service on real NATS and the store: accounts announced to it as
the registry would, comments delivered as a connector would, people to act as, a clock
the test sets, and a view of what it published."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import nats

from kanalvakt.catalog import parts_of
from services.moderation import sweep
from shared.events import AccountCreated, AccountCreatedData, Event, MonitoringRef, PersonRef
from shared.ids import new_id
from shared.principal import Role
from shared.service import build_service
from shared.settings import ServiceName
from tests.helpers import eventually, service_settings
from tests.integration.registry.harness import headers
from tests.integration.running import Running

# A Monday morning in Sweden (UTC+1), inside the monitoring window below.
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ANNA = PersonRef(name="Anna Andersson", email="anna.andersson@nora.example")
BENGT = PersonRef(name="Bengt Berg", email="bengt.berg@nora.example")
OPERATOR = PersonRef(name="Olle Operatör", email="olle@nora.example")
WEEKDAYS = MonitoringRef(days=["mon", "tue", "wed", "thu", "fri"], start="08:00", end="16:00")

CONNECTOR = headers("facebook-connector", Role.CONNECTOR)
MODERATOR = headers("cecilia", Role.COMMUNICATOR, email="cecilia@nora.example")
ADMIN = headers("anna", Role.ADMINISTRATOR, email=ANNA.email)
SECURITY = headers("sakerhet", Role.SECURITY_COORDINATOR)


@dataclass
class Clock:
    """The time the service sees; tests move it."""

    now: datetime = MONDAY

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Moderation(Running):
    clock: Clock
    accounts: dict[str, str] = field(default_factory=dict)  # name -> account id

    async def announce(self, event: Event) -> None:
        await self.publish(event)

    async def account(
        self,
        *,
        monitoring: MonitoringRef | None = WEEKDAYS,
        removal_hours: int = 48,
        answer_hours: int = 24,
        administrators: tuple[PersonRef, ...] = (ANNA, BENGT),
        unit: str = "Näringsliv",
    ) -> tuple[str, str]:
        """A registered account moderation watches: (its id, its name on Facebook)."""
        account_id = new_id()
        name = f"norakommun{account_id.lower()[-8:]}"
        data = AccountCreatedData(
            account_id=account_id,
            name=name,
            platform="facebook",
            url=f"https://www.facebook.com/{name}",
            department="Kommunstyrelseförvaltningen",
            unit=unit,
            purpose="Informera företagare om kommunens service",
            submitted_by="anna",
            removal_deadline_hours=removal_hours,
            answer_deadline_hours=answer_hours,
            administrators=list(administrators),
            operators=[OPERATOR],
            monitoring=monitoring,
        )
        await self.announce(AccountCreated.new("nora", account_id, data, self.clock.now))

        async def watched() -> bool:
            answer = await self.client.get(f"/accounts/{account_id}", headers=MODERATOR)
            return answer.status_code == 200

        await eventually(watched, what=f"account {name} watched")
        self.accounts[name] = account_id
        return account_id, name

    def item(self, account: str, text: str, **fields: Any) -> dict[str, Any]:
        """A comment as a connector delivers it."""
        return {
            "kind": "comment",
            "platform": "facebook",
            "platform_id": f"{new_id().lower()}_{new_id().lower()[-6:]}",
            "account": account,
            "post_id": "",
            "author": {"id": "10001", "name": "Medborgare Ett"},
            "text": text,
            "created_at": self.clock.now.isoformat(),
        } | fields

    async def comment(self, account: str, text: str, **fields: Any) -> str:
        """Deliver a comment; its comment_id once moderation has read it."""
        item = self.item(account, text, **fields)
        answer = await self.client.post("/ingest", json=item, headers=CONNECTOR)
        assert answer.status_code == 202, answer.text
        comment_id: str = answer.json()[0]["comment_id"]
        account_id = self.accounts[account]

        async def read() -> bool:
            found = await self.client.get(
                f"/accounts/{account_id}/comments", headers=headers("auditor", Role.ARCHIVIST)
            )
            return any(c["id"] == comment_id for c in found.json())

        await eventually(read, what=f"comment {comment_id} read")
        return comment_id

    async def comments(self, account_id: str, comment_id: str) -> list[dict[str, Any]]:
        found = await self.client.get(f"/accounts/{account_id}/comments", headers=MODERATOR)
        return [c for c in found.json() if c["id"] == comment_id]

    async def case(self, case_id: str) -> dict[str, Any]:
        answer = await self.client.get(f"/cases/{case_id}", headers=MODERATOR)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    async def case_opened(self, case_id: str) -> dict[str, Any]:
        async def opened() -> bool:
            answer = await self.client.get(f"/cases/{case_id}", headers=MODERATOR)
            return answer.status_code == 200

        await eventually(opened, what=f"case {case_id} opened")
        return await self.case(case_id)

    async def decide(
        self, case_id: str, who: dict[str, str] = MODERATOR, **body: Any
    ) -> httpx.Response:
        return await self.client.post(f"/cases/{case_id}/decision", json=body, headers=who)

    async def sweep(self) -> None:
        await sweep.sweep(self.app.state.deployment, self.clock.now)


@asynccontextmanager
async def moderation(
    nats_url: str, mongodb_url: str, clock: Clock | None = None, **changes: Any
) -> AsyncIterator[Moderation]:
    """A moderation service with a database of its own; its sweep left to the test."""
    clock = clock or Clock()
    settings = service_settings(
        ServiceName.MODERATION,
        nats_url,
        mongodb_url,
        moderation_sweep_interval_seconds=3600,
        **changes,
    )
    app = build_service(parts_of(ServiceName.MODERATION), settings, clock)
    nc = await nats.connect(nats_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://moderation") as client:
            yield Moderation(client, app, nc.jetstream(), clock)
    await nc.close()

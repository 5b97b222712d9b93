"""Issue 8: two kommuner in one stack, their data kept apart.

All four services run once, on one NATS and one store, for both kommuner of `config/`
(nora and the made-up vasterby), without a default kommun, as a kommunalförbund would
run them. A registry flow runs in each kommun; then no read, list, export or event of one
crosses to the other: another kommun's id is a 404 (never a 403 that reveals it), lists
and exports hold the caller's kommun only, each event is its kommun's, and what the
archive, notify and moderation keep is read by that kommun's staff only.
"""

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from kanalvakt.catalog import parts_of
from shared.clock import utcnow
from shared.principal import Role
from shared.service import build_service
from shared.settings import ServiceName
from tests.helpers import CONFIG_DIR, eventually, service_settings
from tests.integration.registry.harness import DEPARTMENT, People, Registry, headers, registry

NORA = People("nora", "norakommun", "nora.example", DEPARTMENT, "Näringsliv")
VASTERBY = People(
    "vasterby",
    "vasterbykommun",
    "vasterby.example",
    "Kultur- och fritidsförvaltningen",
    "Biblioteket",
)
STACK = {"kommun_config": CONFIG_DIR, "default_kommun": ""}


@dataclass
class Stack:
    registry: Registry
    clients: dict[ServiceName, httpx.AsyncClient]

    async def get(self, service: ServiceName, path: str, who: dict[str, str]) -> httpx.Response:
        return await self.clients[service].get(path, headers=who)


@asynccontextmanager
async def stack(nats_url: str, mongodb_url: str) -> AsyncIterator[Stack]:
    async with AsyncExitStack() as running:
        reg = await running.enter_async_context(registry(nats_url, mongodb_url, **STACK))
        clients = {ServiceName.REGISTRY: reg.client}
        for service in (ServiceName.MODERATION, ServiceName.ARCHIVE, ServiceName.NOTIFY):
            settings = service_settings(service, nats_url, mongodb_url, **STACK)
            app = build_service(parts_of(service), settings)
            await running.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            clients[service] = await running.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url=f"http://{service.value}")
            )
        yield Stack(reg, clients)


@pytest.fixture
async def both(nats_url: str, mongodb_url: str) -> AsyncIterator[tuple[Stack, dict[str, Any]]]:
    """The stack, and in each kommun an account taken through the whole registry flow:
    submitted, signed four times, set up and active."""
    async with stack(nats_url, mongodb_url) as s:
        accounts = {}
        for people in (NORA, VASTERBY):
            account = await s.registry.submit(people)
            accounts[people.kommun] = await s.registry.activate(account["id"], people=people)
            assert accounts[people.kommun]["state"] == "active"
        yield s, accounts


def _other(kommun: str) -> People:
    return VASTERBY if kommun == "nora" else NORA


async def test_issue_8_a_registry_flow_runs_in_each_kommun_by_its_own_rules(
    both: tuple[Stack, dict[str, Any]],
) -> None:
    s, accounts = both
    assert accounts["nora"]["kommun"] == "nora"
    assert accounts["vasterby"]["kommun"] == "vasterby"
    assert accounts["vasterby"]["plan"]["department"] == "Kultur- och fritidsförvaltningen"
    # Each kommun's organisation is its own: Nora's department is none of Västerby's.
    refused = await s.registry.client.post(
        "/accounts", json=NORA.plan(), headers=VASTERBY.communicator
    )
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"department"}
    # And its name rule (P4.2): "vasterbykn…" abbreviates Västerby's name, not Nora's.
    handle = "vasterbykn" + accounts["nora"]["id"][-8:].lower()
    renamed = {"handle": handle, "url": f"https://www.facebook.com/{handle}"}
    abbreviated = await s.registry.client.post(
        "/accounts", json=VASTERBY.plan(**renamed), headers=VASTERBY.communicator
    )
    assert abbreviated.status_code == 422
    assert [e["rule"] for e in abbreviated.json()["errors"]] == ["P4.2"]
    fine = await s.registry.client.post(
        "/accounts", json=NORA.plan(**renamed), headers=NORA.communicator
    )
    assert fine.status_code == 201, fine.text


async def test_issue_8_another_kommuns_account_is_not_found(
    both: tuple[Stack, dict[str, Any]],
) -> None:
    s, accounts = both
    for kommun, account in accounts.items():
        other = _other(kommun)
        path = f"/accounts/{account['id']}"
        assert (await s.get(ServiceName.REGISTRY, path, other.archivist)).status_code == 404
        own = await s.get(ServiceName.REGISTRY, path, _other(other.kommun).archivist)
        assert own.status_code == 200
        # Writes too: not a 403 that would say the account exists.
        signed = await s.registry.client.post(
            f"{path}/closing", json={"reason": "Slutar"}, headers=other.signers["administrator_1"]
        )
        assert signed.status_code == 404, signed.text
        assert account["id"] in signed.json()["detail"]
        watched = f"/accounts/{account['id']}"
        assert (await s.get(ServiceName.MODERATION, watched, other.communicator)).status_code == 404


async def test_issue_8_lists_and_exports_hold_the_callers_kommun_only(
    both: tuple[Stack, dict[str, Any]],
) -> None:
    s, accounts = both
    for kommun, account in accounts.items():
        people, other_id = _other(_other(kommun).kommun), accounts[_other(kommun).kommun]["id"]
        listed = await s.get(ServiceName.REGISTRY, "/accounts?limit=500", people.archivist)
        ids = {a["id"] for a in listed.json()}
        assert account["id"] in ids
        assert other_id not in ids
        assert {a["kommun"] for a in listed.json()} == {kommun}
        for form in ("csv", "json"):
            export = await s.get(
                ServiceName.REGISTRY, f"/accounts/export?format={form}", people.archivist
            )
            assert export.status_code == 200
            assert account["id"] in export.text
            assert other_id not in export.text
            assert f"konton-{kommun}-alla.{form}" in export.headers["content-disposition"]
        public = (await s.registry.client.get(f"/public/{kommun}/accounts")).json()
        names = {a["name"] for a in public}
        assert account["plan"]["handle"] in names
        assert accounts[_other(kommun).kommun]["plan"]["handle"] not in names
        page = (await s.registry.client.get(f"/public/{kommun}/accounts.html")).text
        assert account["plan"]["handle"] in page
        assert accounts[_other(kommun).kommun]["plan"]["handle"] not in page
    assert "Västerby kommun" in (await s.registry.client.get("/public/vasterby/accounts.html")).text
    assert (await s.registry.client.get("/public/lindesberg/accounts")).status_code == 404
    # No default kommun in this deployment: the list of a host no kommun names is no one's.
    assert (await s.registry.client.get("/public/accounts")).status_code == 404
    # Västerby's `public_hosts`: its own address shows its list.
    hosted = await s.registry.client.get(
        "/public/accounts", headers={"Host": "konton.vasterby.example"}
    )
    assert {a["name"] for a in hosted.json()} >= {accounts["vasterby"]["plan"]["handle"]}
    assert accounts["nora"]["plan"]["handle"] not in hosted.text


async def test_issue_8_each_event_is_its_kommuns_and_on_its_kommuns_subject(
    both: tuple[Stack, dict[str, Any]],
) -> None:
    s, accounts = both
    for kommun, account in accounts.items():
        other = _other(kommun).kommun
        own = await s.registry.events("*.*", account["id"], kommun)
        assert [e["_subject"] for e in own] == [
            "account.created",
            "account.approved",
            "account.activated",
        ]
        assert {(e["kommun"], e["_kommun"]) for e in own} == {(kommun, kommun)}
        assert await s.registry.events("*.*", account["id"], other) == []


async def test_issue_8_the_archive_notify_and_moderation_keep_each_kommuns_apart(
    both: tuple[Stack, dict[str, Any]],
) -> None:
    s, accounts = both
    officers = {p.kommun: p.signers["information_officer"] for p in (NORA, VASTERBY)}
    for kommun, account in accounts.items():
        people, other = _other(_other(kommun).kommun), _other(kommun)
        records_path = f"/records?account_id={account['id']}"

        async def archived(path: str = records_path, who: People = people) -> bool:
            answer = await s.get(ServiceName.ARCHIVE, path, who.archivist)
            return len(answer.json()) == 1

        await eventually(archived, what=f"{kommun}'s plan archived")
        [record] = (await s.get(ServiceName.ARCHIVE, records_path, people.archivist)).json()
        assert record["kommun"] == kommun
        assert (await s.get(ServiceName.ARCHIVE, records_path, other.archivist)).json() == []
        record_path = f"/records/{record['id']}"
        assert (await s.get(ServiceName.ARCHIVE, record_path, other.archivist)).status_code == 404

        watched = await s.get(
            ServiceName.MODERATION, f"/accounts/{account['id']}", people.communicator
        )
        assert watched.status_code == 200
        assert watched.json()["kommun"] == kommun

    async def told_both() -> bool:
        # account.created tells the department head and the informationsansvarig (P3.6).
        for kommun in accounts:
            answer = await s.get(ServiceName.NOTIFY, "/notifications", officers[kommun])
            if not any(n["recipient_role"] == "informationsansvarig" for n in answer.json()):
                return False
        return True

    await eventually(told_both, what="each kommun's informationsansvarig told of its plan")
    for kommun, account in accounts.items():
        notes = (await s.get(ServiceName.NOTIFY, "/notifications", officers[kommun])).json()
        assert {n["kommun"] for n in notes} == {kommun}
        assert {n["recipient_email"].rsplit("@", 1)[1] for n in notes} == {f"{kommun}.example"}
        assert any(account["plan"]["handle"] in n["subject"] for n in notes)
        other_handle = accounts[_other(kommun).kommun]["plan"]["handle"]
        assert not any(other_handle in json.dumps(n) for n in notes)


async def test_issue_8_one_kommuns_absences_and_reviews_stay_its_own(
    both: tuple[Stack, dict[str, Any]],
) -> None:
    """An absence in Västerby leaves Västerby's account unattended (P3.3, P5.6), and
    nothing of Nora's: the scheduler reviews each kommun with its own people."""
    s, accounts = both
    now = utcnow()
    manager = VASTERBY.signers["administrator_1"]
    for local in ("anna.andersson", "bengt.berg"):
        person = {"name": local.title(), "email": VASTERBY.email(local)}
        body = {
            "person": person,
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        }
        answer = await s.registry.client.post("/absences", json=body, headers=manager)
        assert answer.status_code == 201, answer.text
    await s.registry.tick(utcnow())
    vasterby, nora = accounts["vasterby"]["id"], accounts["nora"]["id"]
    assert len(await s.registry.events("account.unattended", vasterby, "vasterby")) == 1
    assert await s.registry.events("account.unattended", nora) == []
    assert await s.registry.events("admin.absent", nora) == []
    away = await s.get(ServiceName.REGISTRY, "/absences", NORA.archivist)
    assert away.json() == [], "Västerby's absences are not Nora's to see"
    assert len((await s.get(ServiceName.REGISTRY, "/absences", VASTERBY.archivist)).json()) == 2


async def test_issue_8_without_a_default_a_token_must_name_its_kommun(
    nats_url: str, mongodb_url: str
) -> None:
    async with registry(nats_url, mongodb_url, **STACK) as reg:
        nameless = await reg.client.get("/accounts", headers=headers("anna", Role.ARCHIVIST))
        assert nameless.status_code == 401
        assert "DEFAULT_KOMMUN" in nameless.json()["detail"]
        stranger = headers("anna", Role.ARCHIVIST, kommun="lindesberg")
        refused = await reg.client.get("/accounts", headers=stranger)
        assert refused.status_code == 401
        assert "not served here" in refused.json()["detail"]

"""A whole service (the registry) on real NATS and the store, driven over HTTP."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import nats
from fastapi import FastAPI

from kanalvakt.catalog import parts_of
from shared.auth import mint_token
from shared.bus.streams import EVENTS_STREAM
from shared.events import AccountCreated
from shared.ids import new_id
from shared.principal import Role
from shared.service import build_service
from shared.settings import ServiceName
from tests.helpers import SECRET, plan_json, service_settings

PLAN = plan_json()


def token(*roles: Role) -> dict[str, str]:
    t = mint_token(SECRET, "anna", list(roles), issuer="kanalvakt-local", audience="kanalvakt")
    return {"Authorization": f"Bearer {t}"}


@asynccontextmanager
async def registry(nats_url: str, mongodb_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = service_settings(ServiceName.REGISTRY, nats_url, mongodb_url)
    app: FastAPI = build_service(parts_of(ServiceName.REGISTRY), settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            yield client


async def test_health_readiness_and_metrics(nats_url: str, mongodb_url: str) -> None:
    async with registry(nats_url, mongodb_url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "nats": "ok", "store": "ok"}
        metrics = (await client.get("/metrics")).text
        assert "# TYPE kanalvakt_events_total counter" in metrics
        assert "# TYPE faststream_received_messages_total counter" in metrics


async def test_routes_need_a_token_and_the_right_role(nats_url: str, mongodb_url: str) -> None:
    async with registry(nats_url, mongodb_url) as client:
        missing = await client.post("/accounts", json=PLAN)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        garbage = await client.get("/accounts", headers={"Authorization": "Bearer nonsense"})
        assert garbage.status_code == 401
        wrong = await client.post("/accounts", json=PLAN, headers=token(Role.ARCHIVIST))
        assert wrong.status_code == 403
        assert "communicator" in wrong.json()["detail"]


async def test_bad_input_gets_422_naming_the_field(nats_url: str, mongodb_url: str) -> None:
    async with registry(nats_url, mongodb_url) as client:
        bad = PLAN | {"platform": "myspace", "url": "not a url"}
        answer = await client.post("/accounts", json=bad, headers=token(Role.COMMUNICATOR))
        assert answer.status_code == 422
        errors = answer.json()["errors"]
        assert {e["field"] for e in errors} == {"platform", "url"}
        assert all(e["message"]["sv"] and e["message"]["en"] for e in errors)


async def test_submitting_publishes_account_created_once(nats_url: str, mongodb_url: str) -> None:
    name = f"norakommun{new_id().lower()[-8:]}"
    async with registry(nats_url, mongodb_url) as client:
        url = f"https://www.facebook.com/{name}"
        created = await client.post(
            "/accounts", json=PLAN | {"handle": name, "url": url}, headers=token(Role.COMMUNICATOR)
        )
        assert created.status_code == 201, created.text
        account = created.json()
        assert account["state"] == "submitted"
        again = await client.post(
            "/accounts",
            json=PLAN | {"handle": name.upper(), "url": url},
            headers=token(Role.COMMUNICATOR),
        )
        assert again.status_code == 409
        assert again.json()["detail"].startswith("handle:")
        fetched = await client.get(f"/accounts/{account['id']}", headers=token(Role.ARCHIVIST))
        assert fetched.json() == account

    nc = await nats.connect(nats_url)
    try:
        msg = await nc.jetstream().get_last_msg(EVENTS_STREAM, "account.created.nora")
        event = AccountCreated.model_validate_json(msg.data)
        assert event.data.account_id == account["id"]
        assert msg.headers is not None
        assert msg.headers["Nats-Msg-Id"] == event.id
    finally:
        await nc.close()

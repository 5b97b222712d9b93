"""The operations routes every service serves: /metrics is prometheus_client's own ASGI
app, at /metrics exactly (a scraper is never redirected), next to /healthz and /readyz,
none of them behind a token."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from shared.http import ops_router
from tests.helpers import ROOT


async def _ok() -> bool:
    return True


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(ops_router({"store": _ok}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as c:
        yield c


async def test_metrics_answer_at_metrics_without_a_redirect(client: httpx.AsyncClient) -> None:
    answer = await client.get("/metrics", follow_redirects=False)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE python_info gauge" in answer.text
    assert "python_info{" in answer.text


async def test_metrics_take_prometheus_client_name_filter(client: httpx.AsyncClient) -> None:
    """What make_asgi_app gives and a hand-written route did not: `name[]` selects series."""
    answer = await client.get("/metrics", params={"name[]": "python_info"})
    assert answer.status_code == 200
    assert "python_info{" in answer.text
    assert "python_gc_objects_collected_total" not in answer.text


async def test_metrics_are_compressed_when_the_scraper_asks(client: httpx.AsyncClient) -> None:
    answer = await client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    assert "python_info{" in answer.text  # httpx decoded what came as gzip


async def test_health_and_readiness_stay(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "store": "ok"}


def test_metrics_stay_documented() -> None:
    app = FastAPI()
    app.include_router(ops_router({}))
    operation = app.openapi()["paths"]["/metrics"]["get"]
    assert "text/plain" in operation["responses"]["200"]["content"]


def test_metrics_need_no_token_in_a_service_whose_other_routes_do() -> None:
    import json

    registry = json.loads((ROOT / "docs/openapi/registry.json").read_text(encoding="utf-8"))
    paths = registry["paths"]
    assert "401" in paths["/accounts"]["get"]["responses"], "staff routes need a token"
    assert "401" not in paths["/metrics"]["get"]["responses"], "Prometheus scrapes without one"

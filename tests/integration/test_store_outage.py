"""A store that stops answering: writes answer 503 with Retry-After in bounded time,
/readyz says so within a second, and a retry with the same Idempotency-Key gets the
first result, never a 409 for the client's own plan."""

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kanalvakt.processes import free_port, start_store, stop
from shared.principal import Role
from shared.store import OPERATION_TIMEOUT_SECONDS
from tests.integration.registry.harness import COMMUNICATOR, headers, registry, unique_plan

HOST = "127.0.0.1"


@pytest.fixture
def own_store(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """A store of this test's own, to freeze with SIGSTOP without touching the others."""
    port = free_port()
    proc = start_store(tmp_path / "store", HOST, port)
    yield f"mongodb://{HOST}:{port}", proc.pid
    os.kill(proc.pid, signal.SIGCONT)
    stop(proc)


async def test_a_frozen_store_answers_503_in_bounded_time_and_a_keyed_retry_gets_one_account(
    nats_url: str, own_store: tuple[str, int]
) -> None:
    url, pid = own_store
    key = {"Idempotency-Key": "3f1c2a9e-retry-test"}
    plan = unique_plan()
    async with registry(nats_url, url) as reg:
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            ready = await reg.client.get("/readyz")
            assert ready.status_code == 503
            assert time.monotonic() - started < 1.5, "/readyz answers within a second"

            started = time.monotonic()
            answer = await reg.client.post(
                "/accounts", json=plan, headers=COMMUNICATOR | key, timeout=60
            )
            took = time.monotonic() - started
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"].isdigit()
            assert "store" in answer.json()["detail"]
            assert took < OPERATION_TIMEOUT_SECONDS * 2.5, f"took {took:.1f}s"
        finally:
            os.kill(pid, signal.SIGCONT)

        first = await reg.client.post("/accounts", json=plan, headers=COMMUNICATOR | key)
        again = await reg.client.post("/accounts", json=plan, headers=COMMUNICATOR | key)
        assert first.status_code == again.status_code == 201, again.text
        assert first.json()["id"] == again.json()["id"]
        listed = await reg.client.get(
            "/accounts", headers=headers("arkivarie", Role.ARCHIVIST), params={"limit": 500}
        )
        assert [a["id"] for a in listed.json()] == [first.json()["id"]]


async def test_the_same_idempotency_key_from_two_people_is_two_requests(
    nats_url: str, mongodb_url: str
) -> None:
    key = {"Idempotency-Key": "shared-key-0001"}
    other = headers("cecilia2", Role.COMMUNICATOR)
    async with registry(nats_url, mongodb_url) as reg:
        first = await reg.client.post("/accounts", json=unique_plan(), headers=COMMUNICATOR | key)
        second = await reg.client.post("/accounts", json=unique_plan(), headers=other | key)
        assert first.status_code == second.status_code == 201, second.text
        assert first.json()["id"] != second.json()["id"]

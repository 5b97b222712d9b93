"""P3.1, P3.3, P3.5, P3.6, P4.1, P5.1, P5.6: absences start and end on time, an account
left without anyone is announced with whom to escalate to, and a running account that
breaks a rule is reported. Time is the test's: the scheduler is ticked by hand."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from shared.clock import utcnow
from shared.ids import new_id
from tests.integration.registry.harness import (
    ADMIN_1,
    ARCHIVIST,
    INFORMATION_OFFICER,
    Registry,
    registry,
)

ANNA = {"name": "Anna Andersson", "email": "anna.andersson@nora.example"}
BENGT = {"name": "Bengt Berg", "email": "bengt.berg@nora.example"}
CECILIA = {"name": "Cecilia Carlsson", "email": "cecilia.carlsson@nora.example"}
DAY = timedelta(days=1)


@pytest.fixture
async def reg(nats_url: str, mongodb_url: str) -> AsyncIterator[Registry]:
    async with registry(nats_url, mongodb_url) as r:
        yield r


async def _away(
    reg: Registry,
    person: dict[str, str],
    start: datetime,
    end: datetime,
    substitute: dict[str, str] | None = None,
) -> dict[str, Any]:
    body = {
        "person": person,
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "substitute": substitute,
    }
    answer = await reg.client.post("/absences", json=body, headers=INFORMATION_OFFICER)
    assert answer.status_code == 201, answer.text
    absence: dict[str, Any] = answer.json()
    return absence


async def test_P3_3_absence_is_announced_when_it_starts_and_ends(reg: Registry) -> None:
    account = await reg.submit()
    now = utcnow()
    absence = await _away(reg, ANNA, now + DAY, now + 3 * DAY)
    assert await reg.events("admin.*", absence["id"]) == [], "not when it is typed in"
    await reg.tick(now + DAY + timedelta(minutes=1))
    [absent] = await reg.events("admin.*", absence["id"])
    assert absent["_subject"] == "admin.absent"
    assert absent["data"]["account_ids"] == [account["id"]]
    await reg.tick(now + 3 * DAY + timedelta(minutes=1))
    events = await reg.events("admin.*", absence["id"])
    assert [e["_subject"] for e in events] == ["admin.absent", "admin.returned"]


async def test_P3_3_nothing_is_missed_after_a_restart(reg: Registry) -> None:
    await reg.submit()
    now = utcnow()
    absence = await _away(reg, ANNA, now + DAY, now + 2 * DAY)
    await reg.tick(now + 5 * DAY)  # no tick ran while the absence came and went
    events = await reg.events("admin.*", absence["id"])
    assert [e["_subject"] for e in events] == ["admin.absent", "admin.returned"]


async def test_P3_3_replicas_publish_each_event_once(nats_url: str, mongodb_url: str) -> None:
    database = f"kvtest_{new_id().lower()}"
    async with (
        registry(nats_url, mongodb_url, database) as one,
        registry(nats_url, mongodb_url, database) as two,
    ):
        account = await one.submit()
        await one.activate(account["id"])
        now = utcnow()
        await _away(one, ANNA, now + DAY, now + 2 * DAY)
        await _away(one, BENGT, now + DAY, now + 2 * DAY)
        moment = now + DAY + timedelta(hours=1)
        await asyncio.gather(one.tick(moment), two.tick(moment), one.tick(moment))
        assert len(await one.events("admin.absent", account["id"])) == 2
        assert len(await one.events("account.unattended", account["id"])) == 1


async def test_P5_6_all_administrators_away_leaves_the_account_unattended(reg: Registry) -> None:
    account = await reg.submit()
    await reg.activate(account["id"])
    now = utcnow()
    await _away(reg, ANNA, now + DAY, now + 2 * DAY)
    await _away(reg, BENGT, now + DAY, now + 3 * DAY)
    await reg.tick(now + DAY - timedelta(minutes=1))
    assert await reg.events("account.unattended", account["id"]) == []
    await reg.tick(now + DAY + timedelta(minutes=1))
    [unattended] = await reg.events("account.unattended", account["id"])
    data = unattended["data"]
    assert {p["email"] for p in data["absent"]} == {ANNA["email"], BENGT["email"]}
    assert [(t["level"], t["role"]) for t in data["escalate_to"]] == [
        (1, "enhetschef"),
        (2, "förvaltningschef"),
    ]
    assert data["escalate_to"][0]["person"]["email"] == "naringsliv@nora.example"
    await reg.tick(now + 2 * DAY + timedelta(minutes=1))  # Anna is back
    [attended] = await reg.events("account.attended", account["id"])
    assert attended["data"]["account_id"] == account["id"]


async def test_P5_6_unattended_is_announced_as_soon_as_it_is_true(reg: Registry) -> None:
    account = await reg.submit()
    await reg.activate(account["id"])
    now = utcnow()
    await _away(reg, ANNA, now - timedelta(hours=1), now + DAY)
    assert await reg.events("account.unattended", account["id"]) == []
    await _away(reg, BENGT, now - timedelta(minutes=5), now + DAY)
    assert len(await reg.events("account.unattended", account["id"])) == 1


async def test_P5_1_a_present_substitute_keeps_the_account_attended(reg: Registry) -> None:
    account = await reg.submit()
    await reg.activate(account["id"])
    now = utcnow()
    await _away(reg, ANNA, now + DAY, now + 3 * DAY, substitute=CECILIA)
    await _away(reg, BENGT, now + DAY, now + 3 * DAY)
    await reg.tick(now + DAY + timedelta(hours=1))
    assert await reg.events("account.unattended", account["id"]) == []
    # The substitute falls ill too: now nobody is there.
    await _away(reg, CECILIA, now + 2 * DAY, now + 3 * DAY)
    await reg.tick(now + 2 * DAY + timedelta(hours=1))
    assert len(await reg.events("account.unattended", account["id"])) == 1


async def test_P5_1_a_substitute_cannot_be_the_absent_person(reg: Registry) -> None:
    now = utcnow()
    body = {
        "person": ANNA,
        "starts_at": (now + DAY).isoformat(),
        "ends_at": now.isoformat(),
        "substitute": ANNA,
    }
    answer = await reg.client.post("/absences", json=body, headers=INFORMATION_OFFICER)
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"ends_at", "substitute"}


async def test_P3_1_an_administrator_leaving_makes_the_account_noncompliant(
    reg: Registry,
) -> None:
    account = await reg.submit()
    await reg.activate(account["id"])
    answer = await reg.client.post(
        f"/accounts/{account['id']}/departures", json={"email": BENGT["email"]}, headers=ADMIN_1
    )
    assert answer.status_code == 200, answer.text
    latest = (await reg.events("account.noncompliant", account["id"]))[-1]
    assert [f["rule"] for f in latest["data"]["findings"]] == ["P3.1"]


async def test_P3_5_P4_1_approved_without_deposit_or_profile_after_the_grace_is_noncompliant(
    reg: Registry,
) -> None:
    account = await reg.submit()
    await reg.approve(account["id"])
    grace = timedelta(days=14)  # registry.activation_grace_days of the reference kommun
    await reg.tick(utcnow() + grace - timedelta(hours=1))
    assert await reg.events("account.noncompliant", account["id"]) == [], (
        "nobody could have deposited the credentials the moment the plan was approved"
    )
    metrics = (await reg.client.get("/metrics")).text
    assert 'kanalvakt_registry_credentials_overdue{kommun="nora"} 0.0' in metrics
    await reg.tick(utcnow() + grace + timedelta(hours=1))
    [event] = await reg.events("account.noncompliant", account["id"])
    assert {f["rule"] for f in event["data"]["findings"]} == {"P3.5", "P4.1"}
    # The alert's measure (KanalvaktCredentialsNotDeposited): past the same grace.
    metrics = (await reg.client.get("/metrics")).text
    assert 'kanalvakt_registry_credentials_overdue{kommun="nora"} 1.0' in metrics


async def test_P3_6_a_plan_older_than_its_review_interval_is_noncompliant(
    reg: Registry,
) -> None:
    account = await reg.submit()
    await reg.activate(account["id"])
    before = await reg.events("account.noncompliant", account["id"])  # while being set up
    await reg.tick(utcnow() + timedelta(days=364))
    assert await reg.events("account.noncompliant", account["id"]) == before
    await reg.tick(utcnow() + timedelta(days=366))
    latest = (await reg.events("account.noncompliant", account["id"]))[-1]
    assert [f["rule"] for f in latest["data"]["findings"]] == ["P3.6"]
    got = (await reg.client.get(f"/accounts/{account['id']}", headers=ARCHIVIST)).json()
    assert got["findings"] == ["P3.6"]


async def test_metrics_follow_the_policy_measures(reg: Registry) -> None:
    await reg.submit()  # awaiting approval
    account = await reg.submit()
    await reg.activate(account["id"])
    now = utcnow()
    await _away(reg, ANNA, now - timedelta(minutes=1), now + DAY)
    await _away(reg, BENGT, now - timedelta(minutes=1), now + DAY)
    await reg.tick(utcnow())  # the scheduler refreshes the gauges
    metrics = (await reg.client.get("/metrics")).text
    # Per kommun (issue 8): the reference configuration's.
    assert (
        'kanalvakt_registry_accounts{kommun="nora",platform="facebook",state="active"} 1.0'
        in metrics
    )
    assert 'kanalvakt_registry_accounts_unattended{kommun="nora"} 1.0' in metrics
    assert 'kanalvakt_registry_plans_awaiting_approval{kommun="nora"} 1.0' in metrics
    assert 'kanalvakt_registry_credentials_not_deposited{kommun="nora"} 0.0' in metrics
    assert 'kanalvakt_registry_accounts_below_two_administrators{kommun="nora"} 0.0' in metrics
    [age] = [
        line
        for line in metrics.splitlines()
        if line.startswith(
            'kanalvakt_registry_oldest_plan_awaiting_approval_seconds{kommun="nora"} '
        )
    ]
    assert float(age.split()[1]) > 0

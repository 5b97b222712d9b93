"""P2.1, P3.5, P3.6, P4.1, P5.5, B1: from a submitted plan to an active account and on to
closing, each step by a person entitled to it, every change kept as history."""

from collections.abc import AsyncIterator

import pytest

from shared.principal import Role
from tests.integration.registry.harness import (
    ADMIN_1,
    ADMIN_2,
    ARCHIVIST,
    COMMUNICATOR,
    DEPARTMENT,
    DEPARTMENT_HEAD,
    INFORMATION_OFFICER,
    PROFILE,
    Registry,
    headers,
    registry,
    unique_plan,
)


@pytest.fixture
async def reg(nats_url: str, mongodb_url: str) -> AsyncIterator[Registry]:
    async with registry(nats_url, mongodb_url) as r:
        yield r


async def _sign(reg: Registry, account_id: str, role: str, who: dict[str, str]) -> int:
    answer = await reg.client.post(
        f"/accounts/{account_id}/signatures", json={"role": role}, headers=who
    )
    return answer.status_code


async def test_P3_6_submitting_publishes_account_created(reg: Registry) -> None:
    account = await reg.submit()
    assert account["state"] == "submitted"
    [created] = await reg.events("account.created", account["id"])
    assert created["data"]["submitted_by"] == "cecilia"


async def test_P3_6_a_draft_is_announced_only_when_submitted(reg: Registry) -> None:
    answer = await reg.client.post("/accounts?draft=true", json=unique_plan(), headers=COMMUNICATOR)
    draft = answer.json()
    assert draft["state"] == "draft"
    assert await reg.events("account.created", draft["id"]) == []
    plan = draft["plan"] | {"hours_per_week": 6}
    amended = await reg.client.put(f"/accounts/{draft['id']}/plan", json=plan, headers=COMMUNICATOR)
    assert amended.json()["state"] == "draft"
    assert await reg.events("account.*", draft["id"]) == []
    submitted = await reg.client.post(f"/accounts/{draft['id']}/submit", headers=COMMUNICATOR)
    assert submitted.json()["state"] == "submitted"
    assert len(await reg.events("account.created", draft["id"])) == 1


async def test_P2_1_four_sign_offs_approve_the_plan(reg: Registry) -> None:
    account = await reg.submit()
    approved = await reg.approve(account["id"])
    assert approved["state"] == "approved"
    assert {s["role"] for s in approved["signatures"]} == {
        "administrator_1",
        "administrator_2",
        "department_head",
        "information_officer",
    }
    assert all(s["name"] and s["signed_at"] for s in approved["signatures"])
    [event] = await reg.events("account.approved", account["id"])
    assert len(event["data"]["signatures"]) == 4


async def test_P2_1_three_sign_offs_do_not_approve(reg: Registry) -> None:
    account = await reg.submit()
    for role, who in (
        ("administrator_1", ADMIN_1),
        ("administrator_2", ADMIN_2),
        ("department_head", DEPARTMENT_HEAD),
    ):
        assert await _sign(reg, account["id"], role, who) == 200
    got = (await reg.client.get(f"/accounts/{account['id']}", headers=ARCHIVIST)).json()
    assert got["state"] == "submitted"
    assert await reg.events("account.approved", account["id"]) == []


async def test_P2_1_nobody_signs_twice_in_two_roles(reg: Registry) -> None:
    account = await reg.submit()
    both = headers("kim", Role.DEPARTMENT_HEAD, Role.INFORMATION_OFFICER, department=DEPARTMENT)
    assert await _sign(reg, account["id"], "department_head", both) == 200
    answer = await reg.client.post(
        f"/accounts/{account['id']}/signatures", json={"role": "information_officer"}, headers=both
    )
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["rule"] == "P2.1"


async def test_P2_1_only_the_head_of_that_department_signs(reg: Registry) -> None:
    account = await reg.submit()
    other = headers("olle", Role.DEPARTMENT_HEAD, department="Bildningsförvaltningen")
    assert await _sign(reg, account["id"], "department_head", other) == 403
    assert await _sign(reg, account["id"], "department_head", DEPARTMENT_HEAD) == 200


async def test_B1_an_administrator_signs_only_as_themself(reg: Registry) -> None:
    account = await reg.submit()
    assert await _sign(reg, account["id"], "administrator_1", ADMIN_2) == 403
    assert await _sign(reg, account["id"], "administrator_2", COMMUNICATOR) == 403
    assert await _sign(reg, account["id"], "administrator_1", ADMIN_1) == 200
    assert await _sign(reg, account["id"], "administrator_1", ADMIN_1) == 409


async def test_P3_5_credentials_are_recorded_never_the_password(reg: Registry) -> None:
    account = await reg.submit()
    with_password = {
        "location": "Kassaskåpet",
        "deposited_at": "2026-11-20T10:00:00Z",
        "password": "hemligt",
    }
    answer = await reg.client.put(
        f"/accounts/{account['id']}/credentials", json=with_password, headers=INFORMATION_OFFICER
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["rule"] == "P3.5"
    assert "hemligt" not in answer.text
    plain = {"location": "Kassaskåpet", "deposited_at": "2026-11-20T10:00:00Z"}
    answer = await reg.client.put(
        f"/accounts/{account['id']}/credentials", json=plain, headers=ADMIN_1
    )
    assert answer.status_code == 403, "only the informationsansvarig records the deposit"


async def test_P4_1_profile_checklist_must_be_complete(reg: Registry) -> None:
    account = await reg.submit()
    partial = PROFILE | {"contacts_and_link_to_kommun_site": False}
    answer = await reg.client.put(
        f"/accounts/{account['id']}/profile", json=partial, headers=ADMIN_1
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["rule"] == "P4.1"
    assert "contacts_and_link_to_kommun_site" in answer.json()["errors"][0]["message"]["en"]


async def test_P5_7_profile_must_tell_visitors_posts_are_public_and_how_data_is_processed(
    reg: Registry,
) -> None:
    account = await reg.submit()
    without = PROFILE | {"posts_public_and_personal_data": False}
    answer = await reg.client.put(
        f"/accounts/{account['id']}/profile", json=without, headers=ADMIN_1
    )
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert (error["field"], error["rule"]) == ("checklist", "P5.7")
    assert "posts_public_and_personal_data" in error["message"]["en"]
    # Lacking items of both rules: one error for each rule, each naming its items.
    both = without | {"logo_and_kommun_name": False}
    answer = await reg.client.put(f"/accounts/{account['id']}/profile", json=both, headers=ADMIN_1)
    assert [e["rule"] for e in answer.json()["errors"]] == ["P4.1", "P5.7"]


async def test_P3_5_P4_1_active_only_with_credentials_and_profile(reg: Registry) -> None:
    account = await reg.submit()
    approved = await reg.approve(account["id"])
    assert approved["state"] == "approved"
    active = await reg.activate(account["id"], approve=False)
    assert active["state"] == "active"
    assert active["credentials"]["location"].startswith("Kassaskåpet")
    [event] = await reg.events("account.activated", account["id"])
    assert event["data"]["removal_deadline_hours"] == 48


async def test_P3_6_new_administrators_need_approval_again(reg: Registry) -> None:
    account = await reg.submit()
    await reg.activate(account["id"])
    plan = account["plan"]
    plan["administrators"][1] = plan["administrators"][1] | {
        "name": "Doris Dahl",
        "email": "doris.dahl@nora.example",
    }
    answer = await reg.client.put(
        f"/accounts/{account['id']}/plan", json=plan, headers=COMMUNICATOR
    )
    assert answer.status_code == 200, answer.text
    amended = answer.json()
    assert amended["state"] == "submitted"
    assert amended["signatures"] == []
    [updated] = await reg.events("account.updated", account["id"])
    assert updated["data"]["reapproval_required"] is True
    assert "plan.administrators" in updated["data"]["changes"]


async def test_P3_6_a_new_update_frequency_keeps_the_approval(reg: Registry) -> None:
    account = await reg.submit()
    await reg.activate(account["id"])
    plan = account["plan"] | {"update_frequency": {"posts": 3, "per": "week"}}
    amended = (
        await reg.client.put(f"/accounts/{account['id']}/plan", json=plan, headers=COMMUNICATOR)
    ).json()
    assert amended["state"] == "active"


async def test_every_change_is_kept_as_history(reg: Registry) -> None:
    account = await reg.submit()
    await reg.activate(account["id"])
    got = (await reg.client.get(f"/accounts/{account['id']}", headers=ARCHIVIST)).json()
    actions = [(h["action"], h["by"]) for h in got["history"]]
    assert actions[0] == ("submitted", "cecilia")
    assert ("signed", "dora") in actions
    assert ("credentials_deposited", "kommunchef") in actions
    assert actions[-1] == ("activated", "anna")
    assert all(h["at"] for h in got["history"])


async def test_P5_5_closing_an_account(reg: Registry) -> None:
    account = await reg.submit()
    await reg.activate(account["id"])
    assert (
        await reg.client.post(f"/accounts/{account['id']}/closed", headers=ADMIN_1)
    ).status_code == 409
    answer = await reg.client.post(
        f"/accounts/{account['id']}/closing",
        json={"reason": "Enheten slutar använda Facebook"},
        headers=ADMIN_1,
    )
    assert answer.json()["state"] == "closing"
    closed = await reg.client.post(f"/accounts/{account['id']}/closed", headers=ADMIN_1)
    assert closed.json()["state"] == "closed"
    assert len(await reg.events("account.closed", account["id"])) == 1


async def test_unknown_account_is_404_naming_the_field(reg: Registry) -> None:
    answer = await reg.client.post(
        "/accounts/nope/signatures", json={"role": "administrator_1"}, headers=ADMIN_1
    )
    assert answer.status_code == 404
    assert answer.json()["detail"].startswith("account_id:")

"""B1, L7, P3.1, P3.2, P4.2, P4.3, P7, P9, P10.1: a plan is refused with every failing
field, the rule it breaks, in Swedish and English."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.registry.harness import COMMUNICATOR, Registry, registry, unique_plan


@pytest.fixture
async def reg(nats_url: str, mongodb_url: str) -> AsyncIterator[Registry]:
    async with registry(nats_url, mongodb_url) as r:
        yield r


async def _refused(reg: Registry, plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    answer = await reg.client.post("/accounts", json=plan, headers=COMMUNICATOR)
    assert answer.status_code == 422, answer.text
    errors = answer.json()["errors"]
    for error in errors:
        assert error["message"]["sv"]
        assert error["message"]["en"]
    return {e["field"]: e for e in errors}


def _admin(i: int, **changes: Any) -> dict[str, Any]:
    person = {
        "name": f"Person {i}",
        "email": f"person{i}@nora.example",
        "phone": "0587-812 00",
        "platform_knowledge_confirmed": "2026-09-01",
    }
    return person | changes


async def test_P3_1_fewer_than_two_administrators(reg: Registry) -> None:
    errors = await _refused(reg, unique_plan(administrators=[_admin(1)]))
    assert errors["administrators"]["rule"] == "P3.1"
    assert "två" in errors["administrators"]["message"]["sv"]


async def test_P3_1_the_same_person_twice(reg: Registry) -> None:
    twice = [_admin(1), _admin(2, email="PERSON1@nora.example")]
    errors = await _refused(reg, unique_plan(administrators=twice))
    assert errors["administrators"]["rule"] == "P3.1"
    assert "same person" in errors["administrators"]["message"]["en"]


async def test_B1_at_most_three_administrators_in_the_plan(reg: Registry) -> None:
    errors = await _refused(reg, unique_plan(administrators=[_admin(i) for i in range(4)]))
    assert errors["administrators"]["rule"] == "B1"


async def test_B1_malformed_email_and_phone(reg: Registry) -> None:
    admins = [_admin(1, email="not-an-address"), _admin(2, phone="call me")]
    errors = await _refused(reg, unique_plan(administrators=admins))
    assert errors["administrators.0.email"]["rule"] == "B1"
    assert "not-an-address" in errors["administrators.0.email"]["message"]["sv"]
    assert errors["administrators.1.phone"]["rule"] == "B1"


async def test_B1_address_host_must_match_the_platform(reg: Registry) -> None:
    errors = await _refused(
        reg, unique_plan(platform="instagram", url="https://www.facebook.com/norakommunkultur")
    )
    assert errors["url"]["rule"] == "B1"
    assert "instagram" in errors["url"]["message"]["en"]


async def test_P4_2_abbreviated_kommun_name_is_refused(reg: Registry) -> None:
    errors = await _refused(
        reg, unique_plan(handle="norakm", url="https://www.facebook.com/norakm")
    )
    assert errors["handle"]["rule"] == "P4.2"
    assert "norakommun" in errors["handle"]["message"]["sv"]


async def test_P4_2_full_kommun_name_is_accepted(reg: Registry) -> None:
    account = await reg.submit(
        handle="norakommunnaringsliv", url="https://www.facebook.com/norakommunnaringsliv"
    )
    assert account["plan"]["handle"] == "norakommunnaringsliv"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.facebook.com/groups/123456789",
        "https://www.facebook.com/profile.php?id=100012345678",
        "https://www.facebook.com/",
    ],
)
async def test_P4_3_facebook_needs_a_public_page_address(reg: Registry, url: str) -> None:
    errors = await _refused(reg, unique_plan(url=url))
    assert errors["url"]["rule"] == "P4.3"


async def test_P9_platform_knowledge_must_be_recorded(reg: Registry) -> None:
    admins = [_admin(1), _admin(2)]
    del admins[1]["platform_knowledge_confirmed"]
    errors = await _refused(reg, unique_plan(administrators=admins))
    assert errors["administrators.1.platform_knowledge_confirmed"]["rule"] == "P9"


async def test_P3_2_hours_per_week_are_planned(reg: Registry) -> None:
    errors = await _refused(reg, unique_plan(hours_per_week=0))
    assert errors["hours_per_week"]["rule"] == "P3.2"


async def test_P10_1_department_and_unit_come_from_the_organisation(reg: Registry) -> None:
    errors = await _refused(reg, unique_plan(department="Okänd förvaltning"))
    assert errors["department"]["rule"] == "P10.1"
    errors = await _refused(reg, unique_plan(unit="Biblioteket"))  # not in KS
    assert errors["unit"]["rule"] == "P10.1"


async def test_B1_every_failing_field_in_one_answer(reg: Registry) -> None:
    plan = unique_plan(
        handle="norakm",
        url="https://www.facebook.com/groups/1",
        administrators=[_admin(1)],
        hours_per_week=-1,
        monitoring={"days": ["someday"], "start": "17:00", "end": "08:00"},
    )
    del plan["purpose"]
    errors = await _refused(reg, plan)
    assert {
        "handle",
        "url",
        "administrators",
        "hours_per_week",
        "purpose",
        "monitoring.days.0",
    } <= set(errors)


async def test_B1_defaults_fill_the_deadlines(reg: Registry) -> None:
    plan = unique_plan()
    del plan["removal_deadline_hours"]
    del plan["answer_deadline_hours"]
    answer = await reg.client.post("/accounts", json=plan, headers=COMMUNICATOR)
    assert answer.status_code == 201, answer.text
    assert answer.json()["plan"]["removal_deadline_hours"] == 48
    assert answer.json()["plan"]["answer_deadline_hours"] == 24


async def test_L7_P7_a_personnummer_in_the_purpose_is_refused(reg: Registry) -> None:
    plan = unique_plan(purpose="Frågor besvaras av Anna Andersson, 19121212-1212, på vardagar.")
    answer = await reg.client.post("/accounts", json=plan, headers=COMMUNICATOR)
    assert answer.status_code == 422, answer.text
    errors = {e["field"]: e for e in answer.json()["errors"]}
    assert errors["purpose"]["rule"] == "L7"
    assert "personnummer" in errors["purpose"]["message"]["sv"]
    assert "1212-1212" not in answer.text  # the refusal does not repeat the number
    public = await reg.client.get("/public/accounts")
    assert "1212-1212" not in public.text
    assert plan["handle"] not in public.text


async def test_L7_P7_every_free_text_field_with_a_personnummer_is_named(reg: Registry) -> None:
    plan = unique_plan(
        audience="Företagare; kontaktperson 121212-1212",
        unit="Näringsliv 19121212-1212",
        administrators=[_admin(1, name="Anna 191212121212"), _admin(2)],
        operators=[_admin(3, name="Cecilia 701063-2391")],  # a samordningsnummer
    )
    del plan["operators"][0]["platform_knowledge_confirmed"]
    errors = await _refused(reg, plan)
    for field in ("audience", "unit", "administrators.0.name", "operators.0.name"):
        assert errors[field]["rule"] == "L7", field
    assert "administrators.1.name" not in errors


async def test_L7_an_invoice_number_is_not_a_personnummer(reg: Registry) -> None:
    account = await reg.submit(purpose="Svara på frågor om faktura 1234567890 och annat.")
    assert "1234567890" in account["plan"]["purpose"]

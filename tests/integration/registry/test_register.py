"""P10.1, P10.8, L1: the register by department, platform and state, its export, and
the public list of active accounts for anyone, as JSON and as an accessible page."""

import csv
import io
from collections.abc import AsyncIterator

import pytest

from tests.integration.registry.harness import ARCHIVIST, Registry, registry, unique_plan

CULTURE = "Bildningsförvaltningen"


@pytest.fixture
async def reg(nats_url: str, mongodb_url: str) -> AsyncIterator[Registry]:
    async with registry(nats_url, mongodb_url) as r:
        yield r


async def test_P10_1_register_by_department_platform_and_state(reg: Registry) -> None:
    active = await reg.submit()
    await reg.activate(active["id"])
    waiting = await reg.submit(department=CULTURE, unit="Biblioteket")
    everything = (await reg.client.get("/accounts", headers=ARCHIVIST)).json()
    assert {a["id"] for a in everything} == {active["id"], waiting["id"]}
    culture = (
        await reg.client.get("/accounts", params={"department": CULTURE}, headers=ARCHIVIST)
    ).json()
    assert [a["id"] for a in culture] == [waiting["id"]]
    live = (
        await reg.client.get(
            "/accounts", params={"state": ["active", "approved"]}, headers=ARCHIVIST
        )
    ).json()
    assert [a["id"] for a in live] == [active["id"]]
    nothing = (
        await reg.client.get("/accounts", params={"platform": "tiktok"}, headers=ARCHIVIST)
    ).json()
    assert nothing == []


async def test_P10_1_export_as_csv_and_json(reg: Registry) -> None:
    await reg.submit()
    await reg.submit(department=CULTURE, unit="Kulturskolan")
    answer = await reg.client.get("/accounts/export", headers=ARCHIVIST)
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 2
    assert rows[0]["administrators"].startswith("Anna Andersson <anna.andersson@nora.example>")
    per_department = await reg.client.get(
        "/accounts/export", params={"format": "json", "department": CULTURE}, headers=ARCHIVIST
    )
    assert [r["unit"] for r in per_department.json()] == ["Kulturskolan"]
    assert "attachment" in per_department.headers["content-disposition"]


async def test_P10_1_the_register_needs_a_login(reg: Registry) -> None:
    assert (await reg.client.get("/accounts")).status_code == 401
    assert (await reg.client.get("/accounts/export")).status_code == 401


async def test_P10_8_public_list_shows_active_accounts_to_anyone(reg: Registry) -> None:
    active = await reg.submit()
    await reg.activate(active["id"])
    await reg.submit()  # submitted, not yet active: not public
    listed = (await reg.client.get("/public/accounts")).json()
    assert [a["name"] for a in listed] == [active["plan"]["handle"]]
    assert set(listed[0]) == {"name", "platform", "url", "department", "unit", "purpose"}


async def test_L1_P10_8_public_page_tells_who_runs_each_account(reg: Registry) -> None:
    active = await reg.submit(purpose="Tips & nyheter för företagare <i kommunen>")
    await reg.activate(active["id"])
    page = await reg.client.get("/public/accounts.html")
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="sv">' in html
    assert "<caption>" in html
    assert '<th scope="col">Konto</th>' in html
    assert "Nora kommun i sociala medier" in html
    assert f'href="https://www.facebook.com/{active["plan"]["handle"]}"' in html
    assert "&lt;i kommunen&gt;" in html, "text from plans is escaped"
    # L1: who runs the account, and that what you write is visible to others.
    assert "Kommunstyrelseförvaltningen, Näringsliv" in html
    assert "blir synligt för andra" in html
    english = (await reg.client.get("/public/accounts.html", params={"lang": "en"})).text
    assert '<html lang="en">' in english
    assert "Nora kommun on social media" in english


async def test_P10_8_page_without_accounts_says_so(reg: Registry) -> None:
    assert "inga aktiva konton" in (await reg.client.get("/public/accounts.html")).text


async def test_plan_for_another_kommun_uses_its_name(reg: Registry) -> None:
    answer = await reg.client.post(
        "/accounts", json=unique_plan(handle="norakm"), headers=ARCHIVIST
    )
    assert answer.status_code == 403, "an archivist does not submit plans"


async def test_P10_1_an_export_of_a_department_named_beyond_latin_1_downloads(
    reg: Registry,
) -> None:
    # The file name travels in a header (RFC 6266): it was a 500 for such a name.
    answer = await reg.client.get(
        "/accounts/export", params={"department": "Kultur – Ādel"}, headers=ARCHIVIST
    )
    assert answer.status_code == 200, answer.text
    assert "filename*=UTF-8''" in answer.headers["Content-Disposition"]

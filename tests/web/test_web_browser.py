"""Issue 14 in a real browser: Debian's Chromium against `kanalvakt up`.

A plan is submitted through the web form (its rule-coded errors first), its credentials
deposited (P3.5) and profile confirmed (P4.1, P5.7), then signed by the four signers of
B1, each signed in locally as themselves; after the fourth it is active and on the
public list (P10.8). The department head does their part with the keyboard only. Another
plan is saved as a draft, resumed by keyboard and submitted (P3.6), then closed (P5.5).
axe-core checks every page visited against WCAG 2.1 AA.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.web.conftest import WebStack, check_accessibility

HANDLE = "norakommunbibliotek"
ADMINS = [
    ("Alva Administratör", "alva@nora.example", "0587-812 01"),
    ("Bertil Administratör", "bertil@nora.example", "0587-812 02"),
]


class People:
    """A browser of one's own (own cookies) for each person, each watched: a CSP
    violation, a script error or a missing file shows in the console, and none may."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.browser, self.base = browser, base
        self.errors: list[str] = []
        self.contexts: list[BrowserContext] = []

    def new(self, **options: Any) -> Page:
        context = self.browser.new_context(base_url=self.base, locale="sv-SE", **options)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        # A refused form is answered 422 on purpose (its errors beside the fields).
        if message.type == "error" and "status of 422" not in message.text:
            self.errors.append(message.text)


@pytest.fixture
def people(browser: Browser, web_stack: WebStack) -> Iterator[People]:
    found = People(browser, web_stack.web)
    yield found
    for context in found.contexts:
        context.close()
    assert not found.errors, found.errors


def visit(page: Page, path: str) -> None:
    page.goto(path)
    check_accessibility(page)


def sign_in_as(page: Page, name: str, role: str = "", email: str = "", next_url: str = "") -> None:
    """The local sign-in page: a configured person by their button, anyone else by the
    form."""
    visit(page, "/signin" + (f"?next={next_url}" if next_url else ""))
    if not role:
        page.get_by_role("button", name=f"Logga in som {name}").click()
    else:
        page.fill("#s-name", name)
        page.fill("#s-email", email)
        page.select_option("#s-role", role)
        page.locator(
            "#other ~ form button[type=submit], section[aria-labelledby=other] button"
        ).click()
    expect(page.get_by_text("Inloggad som")).to_be_visible()
    check_accessibility(page)


def fill_plan(page: Page, handle: str, admins: list[tuple[str, str, str]]) -> None:
    """The form's fields by their ids (f-<API field path>); axe checks their labels."""
    page.fill("#f-handle", handle)
    page.select_option("#f-platform", "instagram")
    page.fill("#f-url", f"https://www.instagram.com/{handle}")
    page.select_option("#f-department", "Bildningsförvaltningen")
    page.select_option("#f-unit", "Biblioteket")
    page.fill("#f-purpose", "Berätta om bibliotekets program, nyheter och öppettider.")
    page.fill("#f-audience", "Boende och besökare i Nora")
    for row, (name, email, phone) in enumerate(admins):
        page.fill(f"#f-administrators-{row}-name", name)
        page.fill(f"#f-administrators-{row}-email", email)
        page.fill(f"#f-administrators-{row}-phone", phone)
        page.fill(f"#f-administrators-{row}-platform_knowledge_confirmed", "2026-01-15")
    page.fill("#f-update_frequency-posts", "3")
    page.fill("#f-hours_per_week", "4")


def tab_to(page: Page, text: str, limit: int = 80) -> None:
    """Tab until the focused element's text or value holds `text`, as a keyboard user
    moves; fail if it never comes (it cannot be reached by keyboard)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return (e.innerText || e.value || e.getAttribute('aria-label') || '').trim(); }"
        )
        if text in focused:
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"{text!r} has focus but no visible outline"
            return
    pytest.fail(f"{text!r} cannot be reached with Tab on {page.url}")


def test_issue_14_submit_a_plan_sign_it_four_times_see_it_public(
    web_stack: WebStack, people: People
) -> None:
    page = people.new()
    # A communicator (driftansvarig) submits the plan; the API's rules come back first.
    sign_in_as(page, "Cecilia Kommunikatör", "communicator", "cecilia@nora.example")
    visit(page, "/accounts/new")
    fill_plan(page, "norakn", ADMINS[:1])
    page.get_by_role("button", name="Lämna in planen").click()
    expect(page.locator("#error-summary")).to_be_visible()
    check_accessibility(page)
    handle_field = page.locator(".field", has=page.locator("#f-handle"))
    expect(handle_field.locator(".error")).to_contain_text("P4.2:")
    admins = page.locator("#f-administrators")
    expect(admins.locator(".error").first).to_contain_text(
        "P3.1: Kontot måste ha minst två administratörer"
    )
    expect(page.locator("#f-handle")).to_have_attribute("aria-invalid", "true")

    fill_plan(page, HANDLE, ADMINS)
    page.get_by_role("button", name="Lämna in planen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(HANDLE)
    expect(page.locator("#state")).to_have_text("Inlämnad")
    check_accessibility(page)
    account = page.url.split("/accounts/")[1].split("?")[0]
    visit(page, "/accounts?state=submitted")
    expect(page.get_by_role("link", name=HANDLE)).to_be_visible()

    # The informationsansvarig records the deposit (never a password) and the profile,
    # and signs.
    kommunchef = people.new()
    sign_in_as(kommunchef, "Kommunchef", next_url=f"/accounts/{account}")
    kommunchef.fill("#f-location", "Kassaskåpet på kommunledningskontoret")
    now = datetime.now(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%dT%H:%M")
    kommunchef.fill("#f-deposited_at", now)
    kommunchef.get_by_role("button", name="Registrera depositionen").click()
    expect(kommunchef.get_by_text("Kassaskåpet på kommunledningskontoret,")).to_be_visible()
    for box in kommunchef.locator("#f-checklist input[type=checkbox]").all():
        box.check()
    kommunchef.get_by_role("button", name="Bekräfta profilen").click()
    expect(kommunchef.get_by_text("Bekräftad,")).to_be_visible()
    check_accessibility(kommunchef)
    sign(kommunchef, account, "Informationsansvarig")

    # The two administrators, each as themselves.
    for name, email, _ in ADMINS:
        admin = people.new()
        sign_in_as(admin, name, "administrator", email)
        sign(admin, account, "Administratör")

    # The förvaltningschef, keyboard only: sign in, reach the sign-off, sign.
    head = people.new()
    head.goto(f"/signin?next=/accounts/{account}/sign")
    tab_to(head, "Logga in som Förvaltningschef bildning")
    head.keyboard.press("Enter")
    expect(head.get_by_role("heading", level=1)).to_contain_text("Signera verksamhetsplanen")
    check_accessibility(head)
    tab_to(head, "Signera")  # the radio is preselected for the head's role
    head.keyboard.press("Enter")
    expect(head.locator("#state")).to_have_text("Aktiv (offentlig)")
    expect(head.get_by_text("Kontot är aktivt och visas på den offentliga listan.")).to_be_visible()
    check_accessibility(head)

    # Public (P10.8): on the kommun's public list, for anyone.
    public = httpx.get(f"{web_stack.registry}/public/nora/accounts.html", timeout=10)
    assert HANDLE in public.text
    # And the history says who did what.
    visit(page, f"/accounts/{account}")
    history = page.locator("section[aria-labelledby=history] tbody tr")
    expect(history).to_have_count(8)  # submitted, deposit, profile, 4 signed, activated


def sign(page: Page, account: str, role_label: str) -> None:
    visit(page, f"/accounts/{account}/sign")
    page.get_by_role("radio", name=role_label).first.check()
    page.get_by_role("button", name="Signera").click()
    expect(page.get_by_text("Signeringen är registrerad.")).to_be_visible()
    check_accessibility(page)


def test_issue_14_english_and_a_phone_width(people: People) -> None:
    """The language link switches to English for this person; the register fits a
    phone's width without sideways scrolling."""
    page = people.new(viewport={"width": 390, "height": 844})
    sign_in_as(page, "Förvaltningschef KS")
    page.get_by_role("link", name="In English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    check_accessibility(page)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"


DRAFT_HANDLE = "norakommunlasframjande"
ENHANCED_HANDLE = "norabiblioteketsutkast"


def test_issue_14_draft_resumed_and_submitted_then_the_account_closed(people: People) -> None:
    """P3.6: a plan saved as a draft, marked so in the register, resumed from its page
    with the keyboard only and submitted. P5.5: the informationsansvarig starts closing
    it with a reason and confirms it closed. axe on every page."""
    page = people.new()
    sign_in_as(page, "Cecilia Kommunikatör", "communicator", "cecilia@nora.example")
    visit(page, "/accounts/new")
    fill_plan(page, DRAFT_HANDLE, ADMINS)
    page.get_by_role("button", name="Spara som utkast").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(DRAFT_HANDLE)
    expect(page.locator("#state")).to_have_text("Utkast")
    expect(page.get_by_text("Utkastet är sparat. Det är inte inlämnat.")).to_be_visible()
    check_accessibility(page)
    account = page.url.split("/accounts/")[1].split("?")[0]

    visit(page, "/accounts?state=draft")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=DRAFT_HANDLE))
    expect(row.locator(".state-draft")).to_have_text("Utkast")

    # Resumed later from the account's page, keyboard only.
    visit(page, f"/accounts/{account}")
    tab_to(page, "Fortsätt utkastet")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Fortsätt utkastet: {DRAFT_HANDLE}")
    expect(page.locator("#f-administrators-1-email")).to_have_value(ADMINS[1][1])
    expect(page.locator("#f-hours_per_week")).to_have_value("4")
    check_accessibility(page)
    page.fill("#f-audience", "Barn, unga och föräldrar i Nora")
    page.get_by_role("button", name="Lämna in planen").click()
    expect(page.locator("#state")).to_have_text("Inlämnad")
    expect(page.get_by_text("Verksamhetsplanen är inlämnad.")).to_be_visible()
    expect(page.get_by_text("Barn, unga och föräldrar i Nora")).to_be_visible()
    check_accessibility(page)

    # Closed (P5.5) by the informationsansvarig: a reason first, then the confirmation.
    kommunchef = people.new()
    sign_in_as(kommunchef, "Kommunchef", next_url=f"/accounts/{account}")
    check_accessibility(kommunchef)
    kommunchef.get_by_role("button", name="Börja stänga kontot").click()
    expect(kommunchef.locator(".field", has=kommunchef.locator("#f-reason"))).to_contain_text(
        "Skäl"
    )
    expect(kommunchef.locator("#f-reason")).to_have_attribute("aria-invalid", "true")
    check_accessibility(kommunchef)
    kommunchef.fill("#f-reason", "Läsfrämjandet samlas på bibliotekets konto.")
    kommunchef.get_by_role("button", name="Börja stänga kontot").click()
    expect(kommunchef.locator("#state")).to_have_text("Stängs")
    expect(kommunchef.get_by_text("Kontot ska stängas.")).to_be_visible()
    check_accessibility(kommunchef)
    kommunchef.get_by_role("button", name="Bekräfta att kontot är stängt på plattformen").click()
    expect(kommunchef.locator("#state")).to_have_text("Stängd")
    expect(kommunchef.get_by_text("Kontot är stängt.").first).to_be_visible()
    check_accessibility(kommunchef)
    history = kommunchef.locator("section[aria-labelledby=history] tbody tr")
    expect(history.first).to_contain_text("Stängt")


def test_issue_14_review_p3_6_an_enhanced_submit_sends_the_button_pressed(
    people: People,
) -> None:
    """kanalvakt.js's partial submit sends the pressed button's name and value as a plain
    submit does: the plan form's "Spara som utkast" beside "Lämna in planen" saves a
    draft (P3.6), not a submitted plan. The form is marked data-enhance here, as any
    form with the script's partial submit is."""
    page = people.new()
    sign_in_as(page, "Cecilia Kommunikatör", "communicator", "cecilia@nora.example")
    visit(page, "/accounts/new")
    page.evaluate("() => document.querySelector('#plan-form').setAttribute('data-enhance', '')")
    fill_plan(page, ENHANCED_HANDLE, ADMINS)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Spara som utkast").click()
    assert posted.value.request.headers.get("x-csrf-token")  # the script's, not the browser's
    assert "action=draft" in (posted.value.request.post_data or "")
    expect(page.get_by_role("heading", level=1)).to_have_text(ENHANCED_HANDLE)
    expect(page.locator("#state")).to_have_text("Utkast")
    expect(page.get_by_text("Utkastet är sparat. Det är inte inlämnat.")).to_be_focused()
    assert "done=drafted" in page.url  # the address follows the answer (pushState)
    check_accessibility(page)

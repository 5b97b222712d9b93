"""`kanalvakt screenshots`: the web interface's main pages as PNGs (docs/screenshots/).

Starts `kanalvakt up` on free ports in a temporary data directory (from the current
folder, so the repository's config/ is used), signs in locally as the people who use
each page, fills in a plan through the form, delivers a threat under it as a connector
does (moderation's /ingest with a connector's token), and photographs the pages in
Debian's Chromium: the accounts, moderation, archive and acknowledge pages at a desktop
width; the register, the moderation queue and a case at a phone's width (the on-call
moderator's pages). The acknowledge page is opened from the escalation's e-mail as `up`'s
local mail sink keeps it.
"""

import contextlib
import email
import email.policy
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import httpx

from shared.auth import mint_token
from shared.ids import new_id
from shared.principal import Role

if TYPE_CHECKING:  # Playwright is a dev dependency: imported when the command runs
    from playwright.sync_api import ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP: "ViewportSize" = {"width": 1280, "height": 900}
PHONE: "ViewportSize" = {"width": 390, "height": 844}
READY_SECONDS = 120.0
PIPELINE_SECONDS = 60.0  # events from one service to the next, on a busy machine
THREAT = "Jag ska döda dig, jag vet var du bor."
POST = "Nu öppnar det nya badhuset på lördag."


class ScreenshotError(RuntimeError):
    pass


def _free_ports(count: int) -> list[int]:
    """`count` ports free now, the first four consecutive (the services' HTTP ports)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base: int = probe.getsockname()[1]
        try:
            for offset in range(4):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        others: list[int] = []
        while len(others) < count - 4:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port: int = s.getsockname()[1]
            if port not in others and not base <= port < base + 4:
                others.append(port)
        return [base, *others]
    raise ScreenshotError("no free ports for the local stack")


@dataclass
class Stack:
    web: str  # the web interface's address
    http: int  # the registry's port; moderation, archive and notify follow it
    data: Path  # up's data directory: its auth-secret and the mail sink's Maildir

    def api(self, offset: int) -> str:
        return f"http://127.0.0.1:{self.http + offset}"

    def headers(self, role: Role, sub: str) -> dict[str, str]:
        """A token as `kanalvakt token` makes one, with the stack's own secret."""
        secret = (self.data / "auth-secret").read_text().strip()
        token = mint_token(
            secret, sub, [role], issuer="kanalvakt-local", audience="kanalvakt", name=sub
        )
        return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def local_stack(data: Path) -> Iterator[Stack]:
    """`kanalvakt up` until the block ends; yields where it runs."""
    http, nats, monitor, store, smtp, web = _free_ports(9)[:6]
    command = [
        *(sys.executable, "-m", "kanalvakt", "up", "--data-dir", str(data)),
        *("--http-port", str(http), "--nats-port", str(nats)),
        *("--nats-monitor-port", str(monitor), "--store-port", str(store)),
        *("--smtp-port", str(smtp), "--web-port", str(web)),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "Stop with Ctrl-C" in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        deadline = time.monotonic() + READY_SECONDS
        while not ready.wait(0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ScreenshotError(f"kanalvakt up did not start (data in {data})")
        yield Stack(f"http://127.0.0.1:{web}", http, data)
    finally:
        proc.send_signal(2)  # SIGINT, as Ctrl-C: `up` stops everything in order
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _sign_in(page: Any, name: str, role: str = "", email: str = "") -> None:
    page.goto("/signin")
    if role:
        page.fill("#s-name", name)
        page.fill("#s-email", email)
        page.select_option("#s-role", role)
        page.click("section[aria-labelledby=other] button[type=submit]")
    else:
        page.get_by_role("button", name=f"Logga in som {name}").click()
    page.wait_for_selector("text=Inloggad som")


def _fill_plan(page: Any, handle: str, admins: int) -> None:
    page.fill("#f-handle", handle)
    page.select_option("#f-platform", "instagram")
    page.fill("#f-url", f"https://www.instagram.com/{handle}")
    page.select_option("#f-department", "Bildningsförvaltningen")
    page.select_option("#f-unit", "Biblioteket")
    page.fill("#f-purpose", "Berätta om bibliotekets program, nyheter och öppettider.")
    page.fill("#f-audience", "Boende och besökare i Nora")
    for row, who in enumerate(("Alva", "Bertil")[:admins]):
        page.fill(f"#f-administrators-{row}-name", f"{who} Administratör")
        page.fill(f"#f-administrators-{row}-email", f"{who.lower()}@nora.example")
        page.fill(f"#f-administrators-{row}-phone", f"0587-812 0{row + 1}")
        page.fill(f"#f-administrators-{row}-platform_knowledge_confirmed", "2026-01-15")
    page.fill("#f-update_frequency-posts", "3")
    page.fill("#f-hours_per_week", "4")


def _until(check: Callable[[], Any], what: str, within: float = PIPELINE_SECONDS) -> Any:
    """Poll until `check` answers something true (the pipeline is asynchronous)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise ScreenshotError(f"{what} did not happen within {within:.0f} s")


def _threat(stack: Stack, handle: str, account_id: str) -> tuple[str, str]:
    """A post and a threat under it on the account, delivered as a connector does
    (moderation's /ingest); the case's id once moderation has opened it (the threat is
    escalated, P5.8) and the comment's record id once the archive keeps it."""
    moderation, archive = stack.api(1), stack.api(2)
    staff = stack.headers(Role.COMMUNICATOR, "skarmbilder")
    with httpx.Client(timeout=10) as client:
        _until(
            lambda: client.get(f"{moderation}/accounts/{account_id}", headers=staff).is_success,
            "moderation watching the account",
        )
        post_id, comment_pid = new_id().lower(), f"{new_id().lower()}_1"
        now = datetime.now(UTC).isoformat()
        item = {"platform": "instagram", "account": handle, "created_at": now}
        items = [
            item
            | {
                "kind": "post",
                "platform_id": post_id,
                "author": {"id": "page", "name": "Nora kommun", "is_kommun": True},
                "text": POST,
            },
            item
            | {
                "kind": "comment",
                "platform_id": comment_pid,
                "post_id": post_id,
                "author": {"id": "5550001", "name": "Arg Medborgare"},
                "text": THREAT,
            },
        ]
        connector = stack.headers(Role.CONNECTOR, "connector")
        taken = client.post(f"{moderation}/ingest", json=items, headers=connector)
        if taken.status_code != 202:
            raise ScreenshotError(f"moderation refused the comment: {taken.text}")
        record_id: str = taken.json()[1]["comment_id"]
        case_id = f"instagram-{comment_pid}"
        _until(
            lambda: client.get(f"{moderation}/cases/{case_id}", headers=staff).is_success,
            "a case for the threat",
        )
        archivist = stack.headers(Role.ARCHIVIST, "arkiv")
        _until(
            lambda: client.get(f"{archive}/records/{record_id}", headers=archivist).is_success,
            "the archive keeping the comment",
        )
    return case_id, record_id


ACK_LINK = re.compile(r"/acknowledge/([A-Za-z0-9._~-]+)")


def _acknowledge_token(maildir: Path) -> str:
    """The acknowledge link's token from the escalation's e-mail in `up`'s mail sink
    (P5.6, P5.8): the page is opened as the recipient opens it."""

    def find() -> str:
        for path in sorted(maildir.glob("new/*")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for part in message.walk():
                if part.get_content_maintype() == "text":
                    found = ACK_LINK.search(str(part.get_content()))
                    if found:
                        return found.group(1)
        return ""

    token: str = _until(find, "an escalation's e-mail with its acknowledge link")
    return token


def take_screenshots(out: Path) -> list[Path]:
    """Every main page as a PNG in `out`; returns the files written."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ScreenshotError("Playwright is missing: pip install -e '.[dev]'") from None
    if not CHROMIUM.exists():
        raise ScreenshotError(f"{CHROMIUM} is missing: apt-get install chromium")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with (
        tempfile.TemporaryDirectory(prefix="kanalvakt-screenshots-") as data,
        local_stack(Path(data)) as stack,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def shot(page: Any, name: str) -> None:
            path = out / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            written.append(path)

        def person(viewport: "ViewportSize" = DESKTOP) -> Any:
            context = browser.new_context(base_url=stack.web, viewport=viewport, locale="sv-SE")
            return context.new_page()

        page = person()
        page.goto("/signin")
        shot(page, "signin")
        _sign_in(page, "Cecilia Kommunikatör", "communicator", "cecilia@nora.example")
        page.goto("/accounts/new")
        _fill_plan(page, "norakn", admins=1)
        page.click("text=Lämna in planen")
        page.wait_for_selector("#error-summary")
        shot(page, "plan-errors")
        _fill_plan(page, "norakommunbibliotek", admins=2)
        page.click("text=Lämna in planen")
        page.wait_for_selector("#state")
        account = page.url.split("/accounts/")[1].split("?")[0]
        shot(page, "account")

        chief = person()
        _sign_in(chief, "Kommunchef")
        chief.goto(f"/accounts/{account}")
        chief.fill("#f-location", "Kassaskåpet på kommunledningskontoret")
        now = datetime.now(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%dT%H:%M")
        chief.fill("#f-deposited_at", now)
        chief.click("text=Registrera depositionen")
        chief.wait_for_selector("text=Kassaskåpet på kommunledningskontoret,")
        chief.goto(f"/accounts/{account}/sign")
        shot(chief, "sign-off")
        chief.goto("/accounts")
        shot(chief, "register")
        chief.goto("/absences")
        shot(chief, "absences")

        phone = person(PHONE)
        _sign_in(phone, "Förvaltningschef bildning")
        phone.goto("/accounts")
        shot(phone, "register-phone")

        # Moderation: the threat in the queue and its case, as the communicator sees
        # them at a desk and the on-call moderator on a phone (B1 item 7, P5.3, P5.8).
        case_id, record_id = _threat(stack, "norakommunbibliotek", account)
        page.goto("/moderation")
        page.wait_for_selector(f'a[href="/moderation/{case_id}"]')
        shot(page, "moderation-queue")
        page.goto(f"/moderation/{case_id}")
        page.wait_for_selector("#why")
        shot(page, "moderation-case")
        moderator = person(PHONE)
        _sign_in(moderator, "Cecilia Kommunikatör", "communicator", "cecilia@nora.example")
        moderator.goto("/moderation")
        moderator.wait_for_selector(f'a[href="/moderation/{case_id}"]')
        shot(moderator, "moderation-queue-phone")
        moderator.goto(f"/moderation/{case_id}")
        moderator.wait_for_selector("#why")
        shot(moderator, "moderation-case-phone")

        # The archive (L4, L6, L8, P10.3): the account's records, the comment, a hold on
        # the account, a snapshot of it, and the comment registered in the diarium.
        archivist = person()
        _sign_in(archivist, "Arvid Arkivarie", "archivist", "arvid@nora.example")
        archivist.goto(f"/archive?account_id={account}")
        archivist.wait_for_selector(f'a[href="/archive/records/{record_id}"]')
        shot(archivist, "archive-search")
        archivist.goto(f"/archive/records/{record_id}")
        shot(archivist, "archive-record")
        archivist.goto("/archive/holds")
        archivist.select_option("#f-scope", "account")
        archivist.fill("#f-account_id", account)
        archivist.fill("#f-reason", "Begäran om allmän handling KS 2026/123: hot mot kommunen.")
        archivist.click('form[action="/archive/holds"] button[type=submit]')
        archivist.wait_for_selector("ul.holds")
        shot(archivist, "archive-holds")
        archivist.goto("/archive/snapshots")
        archivist.fill("#take-account", account)
        archivist.click('form[method=post][action="/archive/snapshots"] button')
        archivist.wait_for_selector("code.hash", timeout=PIPELINE_SECONDS * 1000)
        shot(archivist, "archive-snapshots")
        registrar = person()
        _sign_in(registrar, "Rut Registrator", "registrar", "rut@nora.example")
        registrar.goto(f"/archive/records/{record_id}")
        if registrar.locator("#f-reason").count():  # unless registered already
            registrar.fill("#f-reason", "Hot mot kommunens medarbetare; polisanmält.")
            registrar.click(f'form[action="/archive/records/{record_id}/registration"] button')
            registrar.wait_for_selector(".notice")
        registrar.goto("/archive/diarium")
        registrar.wait_for_selector("table")
        shot(registrar, "archive-diarium")

        # The escalation's acknowledge link, as its recipient opens it from the e-mail.
        token = _acknowledge_token(stack.data / "mail")
        recipient = person()  # not signed in: the link's token is the authority
        recipient.goto(f"/acknowledge/{token}")
        recipient.wait_for_selector("#ack-state")
        shot(recipient, "acknowledge")
        browser.close()
    return written

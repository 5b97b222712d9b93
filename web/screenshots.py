"""`kanalvakt screenshots`: the web interface's main pages as PNGs (docs/screenshots/).

Starts `kanalvakt up` on free ports in a temporary data directory (from the current
folder, so the repository's config/ is used), signs in locally as the people who use
each page, fills in a plan through the form, and photographs the pages in Debian's
Chromium: a desktop width, and the register at a phone's width.
"""

import contextlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # Playwright is a dev dependency: imported when the command runs
    from playwright.sync_api import ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP: "ViewportSize" = {"width": 1280, "height": 900}
PHONE: "ViewportSize" = {"width": 390, "height": 844}
READY_SECONDS = 120.0


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


@contextlib.contextmanager
def local_stack(data: Path) -> Iterator[str]:
    """`kanalvakt up` until the block ends; yields the web interface's address."""
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
        yield f"http://127.0.0.1:{web}"
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
        local_stack(Path(data)) as base,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def shot(page: Any, name: str) -> None:
            path = out / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            written.append(path)

        page = browser.new_context(base_url=base, viewport=DESKTOP, locale="sv-SE").new_page()
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

        chief = browser.new_context(base_url=base, viewport=DESKTOP, locale="sv-SE").new_page()
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

        phone = browser.new_context(base_url=base, viewport=PHONE, locale="sv-SE").new_page()
        _sign_in(phone, "Förvaltningschef bildning")
        phone.goto("/accounts")
        shot(phone, "register-phone")
        browser.close()
    return written

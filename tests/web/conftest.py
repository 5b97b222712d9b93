"""The web part in-process (FastAPI's TestClient) against a stand-in registry API, and
the browser tests' stack (`kanalvakt up`, once a session)."""

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright
from pydantic import SecretStr

from kanalvakt.processes import free_port
from shared.settings import Settings
from tests.e2e.conftest import _ports, port_args, start_up, stop_up, wait_until_up
from tests.helpers import CONFIG_DIR, ROOT, SECRET
from web.app import create_app
from web.security import CSRF_COOKIE
from web.settings import WebSettings

SESSION_SECRET = "web-session-secret-for-the-tests-0123456789"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeRegistry:
    """Answers as services/registry/api.py does, for what a test sets; records calls."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Handler] = {}

    def on(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        for (method, pattern), handler in self.routes.items():
            if request.method == method and re.fullmatch(pattern, request.url.path):
                return handler(request)
        return httpx.Response(404, json={"detail": f"not found: {request.url.path}"})

    def body(self, index: int = -1) -> Any:
        return json.loads(self.calls[index].content)


@pytest.fixture
def registry() -> FakeRegistry:
    fake = FakeRegistry()
    fake.on("GET", "/accounts", lambda r: httpx.Response(200, json=[]))
    fake.on("GET", "/healthz", lambda r: httpx.Response(200, json={"status": "ok"}))
    return fake


@pytest.fixture
def client(registry: FakeRegistry) -> Iterator[TestClient]:
    settings = Settings(
        auth_secret=SecretStr(SECRET), kommun_config=CONFIG_DIR, default_kommun="nora"
    )
    web = WebSettings(session_secret=SecretStr(SESSION_SECRET), local_signin=True)
    app = create_app(settings, web, transport=httpx.MockTransport(registry))
    # https: the cookies are Secure, so a client sends them back over https only.
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as test_client:
        yield test_client


def csrf_of(client: TestClient) -> str:
    """The CSRF token a page gave (its cookie; its forms carry the same value)."""
    if CSRF_COOKIE not in client.cookies:
        client.get("/signin")
    return str(client.cookies[CSRF_COOKIE])


def sign_in(client: TestClient, role: str = "communicator", **who: str) -> None:
    form = {
        "csrf_token": csrf_of(client),
        "kommun": "nora",
        "name": who.get("name", "Anna Andersson"),
        "email": who.get("email", "anna@nora.example"),
        "role": role,
        "department": who.get("department", ""),
    }
    answer = client.post("/signin/local", data=form)
    assert answer.status_code == 303, answer.text


# The browser tests: one `kanalvakt up` and one Chromium for the whole session.

CHROMIUM = Path("/usr/bin/chromium")  # Debian's, installed by .ci/run
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@dataclass
class WebStack:
    web: str  # the web interface's base URL
    registry: str
    proc: subprocess.Popen[str]


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    """`kanalvakt up` as a user runs it in the repository (config/: Nora, the default,
    and Västerby), its web interface on a port of its own."""
    data: Path = tmp_path_factory.mktemp("kanalvakt-web")
    ports = _ports()
    taken = {*ports, *range(ports[-1], ports[-1] + 4)}
    web_port = next(p for p in iter(free_port, 0) if p not in taken)
    proc = start_up(data, ROOT, *port_args(ports), "--web-port", str(web_port))
    output = wait_until_up(proc)
    assert f"http://127.0.0.1:{web_port}/signin" in "".join(output.lines)  # the URL table
    yield WebStack(f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{ports[-1]}", proc)
    stop_up(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright; a test without it fails, never skips."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def check_accessibility(page: Page) -> None:
    """axe-core (axe-playwright-python's bundled copy) on the page as it stands: no
    violation of WCAG 2.1 A or AA."""
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    results = Axe().run(page, options=options)
    violations = results.response["violations"]
    assert not violations, f"{page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in violations
    )

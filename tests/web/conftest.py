"""The web part in-process (FastAPI's TestClient) against a stand-in registry API, and
the browser tests' stack (`kanalvakt up`, once a session)."""

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from shared.settings import Settings
from tests.helpers import CONFIG_DIR, SECRET
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

"""The Meta Graph connector against a local HTTP server that answers as the Graph API
documents: success bodies, 5xx and 429 (retried), 400 with an error body (not retried),
and an answer slower than the timeout."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from services.moderation.connector import (
    ActionRequest,
    ActionResult,
    ByHand,
    Connectors,
    MetaGraph,
    PlatformAction,
    TokensFileError,
    connectors_from_settings,
    load_page_tokens,
)
from shared.settings import Settings

HOST = "127.0.0.1"
VERSION = "v26.0"
TOKEN = "EAAB-page-token-that-must-never-show"
IG_TOKEN = "IGAA-instagram-token-never-shown"
TOKENS = {("nora", "noras.kommun"): TOKEN, ("nora", "noras_kommun"): IG_TOKEN}


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=lambda: {"success": True})
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]


class FakeGraph:
    """A tiny HTTP/1.1 server: answers from a script, records every request."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.seen: list[Seen] = []
        self.server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://{HOST}:{port}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, HOST, 0)

    async def stop(self) -> None:
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client gave up (a timeout): nothing to answer
        finally:
            writer.close()
            self._handlers.discard(task)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        method, target, _ = head[0].split(" ", 2)
        headers = {}
        for line in head[1:]:
            if line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        parts = urlsplit(target)
        form = parse_qs(body.decode())
        self.seen.append(Seen(method, parts.path, parse_qs(parts.query), headers, form))
        reply = self.script.pop(0) if self.script else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        payload = json.dumps(reply.body).encode()
        lines = [
            f"HTTP/1.1 {reply.status} X",
            "Content-Type: application/json",
            f"Content-Length: {len(payload)}",
            "Connection: close",
            *(f"{k}: {v}" for k, v in reply.headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        await writer.drain()


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    server = FakeGraph()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
async def meta(graph: FakeGraph, slept: list[float]) -> AsyncIterator[MetaGraph]:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    connector = MetaGraph(graph.url, VERSION, TOKENS, timeout=0.3, attempts=3, sleep=sleep)
    yield connector
    await connector.aclose()


def request(
    action: PlatformAction,
    platform: str = "facebook",
    comment: str = "500_700",
    text: str = "",
    account: str = "noras.kommun",
) -> ActionRequest:
    return ActionRequest("nora", account, platform, comment, action, text)


def assert_no_token(result: ActionResult) -> None:
    for token in (TOKEN, IG_TOKEN):
        assert token not in result.detail
        assert token not in repr(result)


async def test_facebook_hide_posts_is_hidden_with_the_token(
    graph: FakeGraph, meta: MetaGraph
) -> None:
    result = await meta.perform(request(PlatformAction.HIDE))
    assert result == ActionResult("done", "hidden on facebook")
    [seen] = graph.seen
    assert (seen.method, seen.path) == ("POST", f"/{VERSION}/500_700")
    assert seen.form == {"is_hidden": ["true"], "access_token": [TOKEN]}
    assert seen.query == {}  # the token is never in the URL
    assert_no_token(result)


async def test_facebook_unhide_delete_and_reply(graph: FakeGraph, meta: MetaGraph) -> None:
    graph.script = [Reply(), Reply(), Reply(body={"id": "500_800"})]
    unhidden = await meta.perform(request(PlatformAction.UNHIDE))
    deleted = await meta.perform(request(PlatformAction.DELETE))
    replied = await meta.perform(request(PlatformAction.REPLY, text="Tack för frågan!"))
    assert unhidden == ActionResult("done", "unhidden on facebook")
    assert deleted == ActionResult("done", "deleted on facebook")
    assert replied == ActionResult("done", "replied on facebook", platform_id="500_800")
    unhide, delete, reply = graph.seen
    assert (unhide.method, unhide.path, unhide.form["is_hidden"]) == (
        "POST",
        f"/{VERSION}/500_700",
        ["false"],
    )
    assert (delete.method, delete.path) == ("DELETE", f"/{VERSION}/500_700")
    assert delete.form == {"access_token": [TOKEN]}
    assert (reply.method, reply.path) == ("POST", f"/{VERSION}/500_700/comments")
    assert reply.form == {"message": ["Tack för frågan!"], "access_token": [TOKEN]}


async def test_instagram_hide_delete_and_reply(graph: FakeGraph, meta: MetaGraph) -> None:
    graph.script = [Reply(), Reply(), Reply(body={"id": "18000000000000009"})]
    ig = {"platform": "instagram", "comment": "18000000000000001", "account": "noras_kommun"}
    hidden = await meta.perform(request(PlatformAction.HIDE, **ig))
    deleted = await meta.perform(request(PlatformAction.DELETE, **ig))
    replied = await meta.perform(request(PlatformAction.REPLY, text="Hej!", **ig))
    assert hidden == ActionResult("done", "hidden on instagram")
    assert deleted == ActionResult("done", "deleted on instagram")
    assert replied.platform_id == "18000000000000009"
    hide, delete, reply = graph.seen
    assert (hide.method, hide.path) == ("POST", f"/{VERSION}/18000000000000001")
    assert hide.form == {"hide": ["true"], "access_token": [IG_TOKEN]}
    assert (delete.method, delete.path) == ("DELETE", f"/{VERSION}/18000000000000001")
    assert (reply.method, reply.path) == ("POST", f"/{VERSION}/18000000000000001/replies")
    assert reply.form == {"message": ["Hej!"], "access_token": [IG_TOKEN]}


async def test_server_error_is_retried_with_backoff(
    graph: FakeGraph, meta: MetaGraph, slept: list[float]
) -> None:
    graph.script = [
        Reply(500, {"error": {"message": "An unknown error occurred", "code": 1}}),
        Reply(503, {"error": {"message": "Service temporarily unavailable", "code": 2}}),
        Reply(),
    ]
    result = await meta.perform(request(PlatformAction.HIDE))
    assert result == ActionResult("done", "hidden on facebook")
    assert len(graph.seen) == 3
    assert slept == [0.5, 1.0]


async def test_server_error_every_time_fails_after_the_attempts(
    graph: FakeGraph, meta: MetaGraph, slept: list[float]
) -> None:
    error = {"error": {"message": "An unknown error occurred", "code": 1, "fbtrace_id": "Abc"}}
    graph.script = [Reply(500, error) for _ in range(3)]
    result = await meta.perform(request(PlatformAction.DELETE))
    assert result.status == "failed"
    assert result.detail == (
        "Graph API 500: An unknown error occurred (code 1, fbtrace_id Abc) after 3 attempts"
    )
    assert len(graph.seen) == 3
    assert len(slept) == 2


async def test_rate_limit_honours_retry_after_capped(
    graph: FakeGraph, meta: MetaGraph, slept: list[float]
) -> None:
    limited = {"error": {"message": "Too many calls", "code": 4}}
    graph.script = [
        Reply(429, limited, {"Retry-After": "7"}),
        Reply(429, limited, {"Retry-After": "3600"}),
        Reply(),
    ]
    result = await meta.perform(request(PlatformAction.HIDE))
    assert result.status == "done"
    assert slept == [7.0, 60.0]


async def test_client_error_is_not_retried_and_says_why(
    graph: FakeGraph, meta: MetaGraph, slept: list[float]
) -> None:
    graph.script = [
        Reply(
            400,
            {
                "error": {
                    "message": "(#100) Invalid parameter",
                    "type": "OAuthException",
                    "code": 100,
                    "error_subcode": 33,
                    "fbtrace_id": "AxyZ",
                }
            },
        )
    ]
    result = await meta.perform(request(PlatformAction.HIDE))
    assert result == ActionResult(
        "failed",
        "Graph API 400: (#100) Invalid parameter (code 100, subcode 33, fbtrace_id AxyZ) "
        "after 1 attempt",
    )
    assert len(graph.seen) == 1
    assert slept == []


async def test_error_echoing_the_token_does_not_show_it(graph: FakeGraph, meta: MetaGraph) -> None:
    graph.script = [Reply(400, {"error": {"message": f"Bad token {TOKEN}", "code": 190}})]
    result = await meta.perform(request(PlatformAction.HIDE))
    assert result.status == "failed"
    assert "[token]" in result.detail
    assert_no_token(result)


async def test_slow_answer_fails_after_the_attempts(
    graph: FakeGraph, meta: MetaGraph, slept: list[float]
) -> None:
    graph.script = [Reply(delay=5.0) for _ in range(3)]
    result = await meta.perform(request(PlatformAction.HIDE))
    assert result == ActionResult("failed", "no answer within 0.3 s after 3 attempts")
    assert len(graph.seen) == 3
    assert len(slept) == 2
    assert_no_token(result)


async def test_reply_without_an_answer_is_not_posted_twice(
    graph: FakeGraph, meta: MetaGraph
) -> None:
    graph.script = [Reply(delay=5.0), Reply(body={"id": "dup"})]
    result = await meta.perform(request(PlatformAction.REPLY, text="Svar"))
    assert result.status == "failed"
    assert "may have been posted" in result.detail
    assert len(graph.seen) == 1


async def test_reply_is_retried_when_rate_limited(graph: FakeGraph, meta: MetaGraph) -> None:
    graph.script = [
        Reply(429, {"error": {"message": "slow down", "code": 4}}),
        Reply(body={"id": "9"}),
    ]
    result = await meta.perform(request(PlatformAction.REPLY, text="Svar"))
    assert result == ActionResult("done", "replied on facebook", platform_id="9")
    assert len(graph.seen) == 2


async def test_unreachable_graph_fails_after_the_attempts(slept: list[float]) -> None:
    graph = FakeGraph()
    await graph.start()
    url = graph.url
    await graph.stop()  # nothing listens there any more

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    connector = MetaGraph(url, VERSION, TOKENS, timeout=0.3, attempts=2, sleep=sleep)
    result = await connector.perform(request(PlatformAction.DELETE))
    await connector.aclose()
    assert result == ActionResult(
        "failed", "cannot reach the Graph API (ConnectError) after 2 attempts"
    )
    assert slept == [0.5]


async def test_no_token_for_the_account_is_by_hand_without_a_call(
    graph: FakeGraph, meta: MetaGraph
) -> None:
    result = await meta.perform(request(PlatformAction.HIDE, account="another.page"))
    assert result.status == "by_hand"
    assert "no Page access token for account 'another.page'" in result.detail
    assert graph.seen == []


async def test_bad_requests_make_no_call(graph: FakeGraph, meta: MetaGraph) -> None:
    traversal = await meta.perform(request(PlatformAction.DELETE, comment="../me/feed"))
    empty_reply = await meta.perform(request(PlatformAction.REPLY, text="  "))
    assert traversal.status == "failed"
    assert "is not a Graph id" in traversal.detail
    assert empty_reply == ActionResult("failed", "a reply needs its text")
    assert graph.seen == []


async def test_connectors_pick_by_platform_and_never_raise(meta: MetaGraph) -> None:
    class Broken:
        async def perform(self, request: ActionRequest) -> ActionResult:
            raise RuntimeError(TOKEN)

    connectors = Connectors({"facebook": Broken(), "instagram": meta})
    broken = await connectors.perform(request(PlatformAction.HIDE))
    youtube = await connectors.perform(request(PlatformAction.DELETE, platform="youtube"))
    assert broken == ActionResult("failed", "connector error (RuntimeError)")
    assert youtube == ActionResult(
        "by_hand", "no connector for platform youtube: delete it by hand"
    )
    assert await ByHand("why").perform(request(PlatformAction.REPLY)) == ActionResult(
        "by_hand", "why: reply it by hand"
    )


async def test_connectors_from_settings_read_the_tokens_file(
    tmp_path: Path, graph: FakeGraph
) -> None:
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(f"nora:\n  noras.kommun: {TOKEN}\n", encoding="utf-8")
    settings = Settings(
        meta_page_tokens_file=tokens, meta_graph_url=graph.url, connector_attempts=1
    )
    connectors = connectors_from_settings(settings)
    result = await connectors.perform(request(PlatformAction.HIDE))
    await connectors.aclose()
    assert result == ActionResult("done", "hidden on facebook")
    [seen] = graph.seen
    assert seen.path == f"/{settings.meta_graph_version}/500_700"
    assert seen.form["access_token"] == [TOKEN]


async def test_without_a_tokens_file_meta_is_by_hand() -> None:
    connectors = connectors_from_settings(Settings(meta_page_tokens_file=None))
    result = await connectors.perform(request(PlatformAction.HIDE))
    assert result == ActionResult("by_hand", "META_PAGE_TOKENS_FILE is not set: hide it by hand")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("nora: [a, b]\n", "nora must map account names to tokens"),
        ("- one\n", "must map kommun ids to {account name: token}"),
        ("nora:\n  page: ''\n", "nora.page: the token must be a non-empty string"),
        (f"nora:\n  page: {TOKEN}\n  bad: [\n", "not valid YAML at line"),
    ],
)
def test_bad_tokens_file_names_the_setting_never_a_token(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TokensFileError) as raised:
        load_page_tokens(path)
    assert str(raised.value).startswith("META_PAGE_TOKENS_FILE")
    assert problem in str(raised.value)
    assert TOKEN not in str(raised.value)
    assert raised.value.__cause__ is None


def test_missing_tokens_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(TokensFileError, match=r"META_PAGE_TOKENS_FILE .*cannot be read"):
        connectors_from_settings(Settings(meta_page_tokens_file=tmp_path / "absent.yaml"))


async def test_repr_shows_no_token(meta: MetaGraph) -> None:
    assert TOKEN not in repr(meta)
    assert IG_TOKEN not in repr(meta)


async def test_no_log_record_holds_a_token(
    graph: FakeGraph, meta: MetaGraph, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        async def perform(self, request: ActionRequest) -> ActionResult:
            raise RuntimeError(TOKEN)

    graph.script = [
        Reply(500, {"error": {"message": f"echo {TOKEN}"}}),
        Reply(400, {"error": {"message": f"echo {TOKEN}", "code": 190}}),
    ]
    caplog.set_level(logging.DEBUG)
    await meta.perform(request(PlatformAction.HIDE))
    await meta.perform(request(PlatformAction.REPLY, text="Svar"))
    await Connectors({"facebook": Broken()}).perform(request(PlatformAction.HIDE))
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (record.exc_text or "")

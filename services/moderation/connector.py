"""Actions on the platforms: hide, unhide, delete or reply to a comment.

`Connectors` picks one per platform; Facebook and Instagram go to `MetaGraph` when Page
access tokens are configured, everything else to `ByHand`, which says a person must do it.
`perform` never raises: what could not be done comes back as `failed` or `by_hand`, with a
detail a moderator can read.

Graph API calls (Meta's documentation, developers.facebook.com/docs):
- Facebook comment (graph-api/reference/comment, changelog v2.2): hide/unhide
  `POST /{version}/{comment-id}` with `is_hidden=true|false`; delete `DELETE`; reply
  `POST /{version}/{comment-id}/comments` with `message`, answering `{"id": ...}`.
- Instagram comment (instagram-platform/comment-moderation): hide/unhide
  `POST /{version}/{ig-comment-id}` with `hide=true|false`; delete `DELETE`; reply
  `POST /{version}/{ig-comment-id}/replies` with `message`.
- Errors (graph-api/guides/error-handling): `{"error": {"message", "type", "code",
  "error_subcode", "fbtrace_id"}}`.
The Page access token goes as the `access_token` parameter, which Graph documents for every
call, in the form body and never in the URL: URLs end up in logs (httpx logs each request).
"""

import asyncio
import email.utils
import logging
import re
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol

import httpx
import yaml

from shared.settings import Settings

log = logging.getLogger("kanalvakt.moderation.connector")

META_PLATFORMS = ("facebook", "instagram")
# A Graph id: digits, sometimes two joined by "_"; nothing that could change the path.
_GRAPH_ID = re.compile(r"[0-9A-Za-z_]{1,200}")
_FIRST_DELAY = 0.5
_MAX_DELAY = 30.0
_MAX_RETRY_AFTER = 60.0


class PlatformAction(StrEnum):
    HIDE = "hide"
    UNHIDE = "unhide"
    DELETE = "delete"
    REPLY = "reply"


@dataclass(frozen=True)
class ActionRequest:
    kommun: str
    account_name: str
    platform: str  # a shared.events.account.Platform value
    platform_id: str  # the comment's id on the platform
    action: PlatformAction
    text: str = ""  # for reply


@dataclass(frozen=True)
class ActionResult:
    status: Literal["done", "by_hand", "failed"]
    detail: str  # for people, in English; never a token
    platform_id: str = ""  # a reply's id on the platform


class Connector(Protocol):
    async def perform(self, request: ActionRequest) -> ActionResult: ...


class ByHand:
    """No API for this: a person does it on the platform."""

    def __init__(self, reason: str = "") -> None:
        self.reason = reason

    async def perform(self, request: ActionRequest) -> ActionResult:
        reason = self.reason or f"no connector for platform {request.platform}"
        return ActionResult("by_hand", f"{reason}: {request.action.value} it by hand")


class Connectors:
    """The connector of each platform; a platform without one is done by hand."""

    def __init__(self, by_platform: Mapping[str, Connector]) -> None:
        self.by_platform = dict(by_platform)

    async def perform(self, request: ActionRequest) -> ActionResult:
        connector = self.by_platform.get(request.platform) or ByHand()
        try:
            return await connector.perform(request)
        except Exception as error:  # a connector's bug must not become the caller's
            # Only the type: the message or traceback could quote a token this cannot know.
            log.error("connector for %s raised %s", request.platform, type(error).__name__)
            return ActionResult("failed", f"connector error ({type(error).__name__})")

    async def aclose(self) -> None:
        for connector in {id(c): c for c in self.by_platform.values()}.values():
            close = getattr(connector, "aclose", None)
            if close is not None:
                await close()


class TokensFileError(ValueError):
    """META_PAGE_TOKENS_FILE cannot be used; the message never holds a token."""


Tokens = Mapping[tuple[str, str], str]


def load_page_tokens(path: Path) -> dict[tuple[str, str], str]:
    """`<kommun>: {<account name>: <token>}` as {(kommun, account name): token}."""
    setting = f"META_PAGE_TOKENS_FILE ({path})"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise TokensFileError(f"{setting}: cannot be read ({error.strerror})") from None
    except yaml.YAMLError as error:
        # YAML's message quotes the file around the error, which may be a token: only where.
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise TokensFileError(f"{setting}: not valid YAML{where}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TokensFileError(f"{setting}: must map kommun ids to {{account name: token}}")
    tokens: dict[tuple[str, str], str] = {}
    for kommun, accounts in raw.items():
        if not isinstance(kommun, str) or not isinstance(accounts, dict):
            raise TokensFileError(f"{setting}: {kommun!s} must map account names to tokens")
        for account, token in accounts.items():
            if not isinstance(account, str) or not isinstance(token, str) or not token.strip():
                raise TokensFileError(
                    f"{setting}: {kommun}.{account!s}: the token must be a non-empty string"
                )
            tokens[(kommun, account)] = token.strip()
    return tokens


def connectors_from_settings(settings: Settings) -> Connectors:
    """Facebook and Instagram through the Graph API when tokens are configured."""
    if settings.meta_page_tokens_file is None:
        meta: Connector = ByHand("META_PAGE_TOKENS_FILE is not set")
    else:
        meta = MetaGraph(
            base_url=settings.meta_graph_url,
            version=settings.meta_graph_version,
            tokens=load_page_tokens(settings.meta_page_tokens_file),
            timeout=settings.connector_timeout_seconds,
            attempts=settings.connector_attempts,
        )
    return Connectors(dict.fromkeys(META_PLATFORMS, meta))


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    form: dict[str, str]
    done: str  # the detail on success


@dataclass(frozen=True)
class _Answer:
    """One try: a result to return, or a reason to try again (with Retry-After, if any)."""

    result: ActionResult | None = None
    retry: str = ""
    retry_after: float | None = None


class MetaGraph:
    """Hide, unhide, delete and reply on Facebook Pages and Instagram (Graph API)."""

    def __init__(
        self,
        base_url: str,
        version: str,
        tokens: Tokens,
        timeout: float,
        attempts: int,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.version = version.strip("/")
        self._tokens = dict(tokens)
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(base_url=base_url.rstrip("/"))
        self._base_url = base_url.rstrip("/")
        self._sleep = sleep

    def __repr__(self) -> str:  # the tokens stay out of any repr
        return f"MetaGraph({self._base_url!r}, {self.version!r}, {len(self._tokens)} tokens)"

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def perform(self, request: ActionRequest) -> ActionResult:
        token = self._tokens.get((request.kommun, request.account_name))
        try:
            result = await self._perform(request, token)
        except Exception as error:  # never raise out of perform, never show the token
            trace = traceback.format_exc()
            log.error("Graph API call failed unexpectedly: %s", _hide(trace, token))
            result = ActionResult("failed", f"unexpected error ({type(error).__name__})")
        if token:
            result = _scrubbed(result, token)
        log.info(
            "%s %s on %s (%s/%s): %s",
            request.action.value,
            request.platform_id,
            request.platform,
            request.kommun,
            request.account_name,
            result.status,
        )
        return result

    async def _perform(self, request: ActionRequest, token: str | None) -> ActionResult:
        if request.platform not in META_PLATFORMS:
            return ActionResult(
                "by_hand", f"the Graph API does not serve {request.platform}: do it by hand"
            )
        if not token:
            return ActionResult(
                "by_hand",
                f"no Page access token for account {request.account_name!r} "
                f"(kommun {request.kommun!r}): {request.action.value} it by hand",
            )
        if not _GRAPH_ID.fullmatch(request.platform_id):
            return ActionResult("failed", f"{request.platform_id[:60]!r} is not a Graph id")
        if request.action is PlatformAction.REPLY and not request.text.strip():
            return ActionResult("failed", "a reply needs its text")
        call = self._call(request)
        call.form["access_token"] = token
        # A reply is not idempotent: only tries that surely did not post it are repeated.
        idempotent = request.action is not PlatformAction.REPLY
        reason = ""
        for attempt in range(1, self.attempts + 1):
            answer = await self._try(call, request.action, idempotent)
            if answer.result is not None:
                return _counted(answer.result, attempt)
            reason = answer.retry
            if attempt < self.attempts:
                await self._sleep(self._delay(attempt, answer.retry_after))
        return ActionResult("failed", f"{reason} after {_tries(self.attempts)}")

    def _call(self, request: ActionRequest) -> _Call:
        node = f"/{self.version}/{request.platform_id}"
        platform = request.platform
        hide = "hide" if platform == "instagram" else "is_hidden"
        if request.action is PlatformAction.HIDE:
            return _Call("POST", node, {hide: "true"}, f"hidden on {platform}")
        if request.action is PlatformAction.UNHIDE:
            return _Call("POST", node, {hide: "false"}, f"unhidden on {platform}")
        if request.action is PlatformAction.DELETE:
            return _Call("DELETE", node, {}, f"deleted on {platform}")
        edge = "replies" if platform == "instagram" else "comments"
        return _Call("POST", f"{node}/{edge}", {"message": request.text}, f"replied on {platform}")

    async def _try(self, call: _Call, action: PlatformAction, idempotent: bool) -> _Answer:
        try:
            response = await self._client.request(
                call.method,
                call.path,
                data=call.form,
                timeout=self.timeout,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # Nothing reached Graph: safe to try again whatever the action.
            return _Answer(retry=f"cannot reach the Graph API ({type(error).__name__})")
        except httpx.TimeoutException:
            if not idempotent:
                return _Answer(_unknown(f"no answer within {self.timeout:g} s"))
            return _Answer(retry=f"no answer within {self.timeout:g} s")
        except httpx.TransportError as error:
            if not idempotent:
                return _Answer(_unknown(f"connection failed ({type(error).__name__})"))
            return _Answer(retry=f"connection failed ({type(error).__name__})")
        status = response.status_code
        body = _json(response)
        if 200 <= status < 300:
            return _Answer(_success(call, action, status, body))
        problem = f"Graph API {status}: {_graph_error(body)}"
        if status == 429:
            return _Answer(retry=problem, retry_after=_retry_after(response))
        if status >= 500:
            if not idempotent:
                return _Answer(_unknown(problem))
            return _Answer(retry=problem, retry_after=_retry_after(response))
        return _Answer(ActionResult("failed", problem))

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, _MAX_RETRY_AFTER)
        return float(min(_FIRST_DELAY * 2 ** (attempt - 1), _MAX_DELAY))


def _success(call: _Call, action: PlatformAction, status: int, body: Any) -> ActionResult:
    if action is PlatformAction.REPLY:
        new_id = body.get("id") if isinstance(body, dict) else None
        if not isinstance(new_id, str | int) or isinstance(new_id, bool) or new_id == "":
            return ActionResult(
                "failed", f"Graph API {status} without the reply's id: check on the platform"
            )
        return ActionResult("done", call.done, platform_id=str(new_id))
    if isinstance(body, dict) and body.get("success") is False:
        return ActionResult("failed", f"Graph API {status}: success false")
    return ActionResult("done", call.done)


def _unknown(problem: str) -> ActionResult:
    return ActionResult(
        "failed", f"{problem}; the reply may have been posted: check before trying again"
    )


def _counted(result: ActionResult, attempt: int) -> ActionResult:
    if result.status != "failed":
        return result
    return ActionResult(
        result.status, f"{result.detail} after {_tries(attempt)}", result.platform_id
    )


def _tries(attempts: int) -> str:
    return "1 attempt" if attempts == 1 else f"{attempts} attempts"


def _scrubbed(result: ActionResult, token: str) -> ActionResult:
    """Belt and braces: a detail that quotes a token (an echoing server) loses it."""
    if token not in result.detail:
        return result
    return ActionResult(result.status, _hide(result.detail, token), result.platform_id)


def _hide(text: str, token: str | None) -> str:
    return text.replace(token, "[token]") if token else text


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _graph_error(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "no error in the answer"
    message = str(error.get("message") or "no message")[:300]
    parts = [f"code {error.get('code')}"] if error.get("code") is not None else []
    if error.get("error_subcode") is not None:
        parts.append(f"subcode {error.get('error_subcode')}")
    if error.get("fbtrace_id"):
        parts.append(f"fbtrace_id {error.get('fbtrace_id')}")
    return f"{message} ({', '.join(parts)})" if parts else message


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), or None."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())

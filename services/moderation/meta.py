"""Meta's webhook (Facebook Pages and Instagram): verify a call, answer the verification
challenge, and map a notification to `Inbound` items.

What this relies on (Meta's documentation):
- Getting started with Webhooks (developers.facebook.com/docs/graph-api/webhooks/
  getting-started): the GET verification request (`hub.mode=subscribe`, `hub.challenge`,
  `hub.verify_token`) and the `X-Hub-Signature-256` header, "sha256=" and the hex
  HMAC-SHA256 of the raw payload keyed with the app secret.
- Webhooks reference, Page (developers.facebook.com/docs/graph-api/webhooks/reference/page),
  field `feed`: `value` has `item`, `verb` (add, edited, remove, hide, unhide, …),
  `comment_id`, `post_id`, `parent_id`, `from` {id, name}, `message`, `created_time`.
  Webhooks for Pages (…/webhooks/getting-started/webhooks-for-pages): `object: "page"`,
  `entry[].id` is the Page, `entry[].time` when the change was sent.
- Instagram webhooks (developers.facebook.com/docs/instagram-platform/webhooks/examples,
  …/graph-api/webhooks/reference/instagram, and the changelog of 20 Oct 2021): field
  `comments` (and `live_comments`), `value` has `id`, `text`, `from` {id, username},
  `media` {id, media_product_type}, `parent_id`; `entry[].id` is the Instagram account.
  There is no creation time in the value: the entry's `time` stands for it.

Choices:
- A post by someone other than the Page (a visitor post) is mapped as a comment: it is
  received, not drawn up by the kommun (P10.4, P10.6), and it is moderated like one (P5.2).
- `unhide` is unmappable: `Inbound` has no kind for content coming back.
- Reactions and likes (the feed's most frequent changes) are `ignored`, not unmappable:
  nothing to moderate, and nothing for the dead-letter queue.
- For edits and deletions the time is the entry's `time` (when the change happened), so
  that two edits of one comment are two deliveries; `created_time` only if it is missing.

Nothing here raises on a bad payload: what cannot be mapped comes back as `Unmappable`,
with a reason naming the field.
"""

import hashlib
import hmac
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from services.moderation.domain.inbound import Inbound, Kind
from shared.events import Author
from shared.events.account import Platform

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
# Meta sends a number; anything else is not echoed back (the answer is reflected text).
_CHALLENGE = re.compile(r"[A-Za-z0-9_.-]{1,200}")

_POST_ITEMS = ("post", "status", "photo", "video", "share")
_IGNORED_ITEMS = ("reaction", "like")  # the feed's most frequent changes; no text to moderate
_VERBS = ("add", "edited", "remove", "hide")
_INSTAGRAM_FIELDS = ("comments", "live_comments")
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_URL_TAIL = ".,;:!?)]}"
_MAX_LINKS = 100  # Inbound.links holds at most this many


@dataclass(frozen=True)
class Unmappable:
    """A change that gave no item: why (field and reason), and the change as received."""

    reason: str
    change: dict[str, Any]


@dataclass(frozen=True)
class MappedWebhook:
    """`ignored`: changes understood and of no concern to moderation (reactions, likes),
    kept apart so that they do not fill the dead-letter queue."""

    items: list[Inbound] = field(default_factory=list)
    unmappable: list[Unmappable] = field(default_factory=list)
    ignored: list[Unmappable] = field(default_factory=list)


# --- verification -------------------------------------------------------------------------


def verify_signature(app_secret: bytes, body: bytes, header: str | None) -> bool:
    """True when `header` is "sha256=" and the HMAC-SHA256 of the raw `body`."""
    if not app_secret or header is None:
        return False
    match = _SIGNATURE.fullmatch(header.strip())
    if match is None:
        return False
    expected = hmac.new(app_secret, body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes.fromhex(match.group(1)))


def describe_refusal(
    header: str | None, body_length: int, *, secret_configured: bool = True
) -> str:
    """Why a call was refused, for the log: never the body, never the header's value."""
    size = f"body {body_length} bytes"
    if not secret_configured:
        return f"META_APP_SECRET is not set: every webhook call is refused; {size}"
    if header is None or not header.strip():
        return f"missing {SIGNATURE_HEADER} header; {size}"
    if _SIGNATURE.fullmatch(header.strip()) is None:
        return f"malformed {SIGNATURE_HEADER} header (not sha256=<64 hex digits>); {size}"
    return f"{SIGNATURE_HEADER} does not match the body (wrong app secret or body changed); {size}"


def verification_answer(params: Mapping[str, str], verify_token: str) -> str | None:
    """The challenge to send back when Meta's verification request is genuine, else None."""
    if not verify_token or params.get("hub.mode") != "subscribe":
        return None
    given = params.get("hub.verify_token", "")
    if not hmac.compare_digest(given.encode(), verify_token.encode()):
        return None
    challenge = params.get("hub.challenge", "")
    return challenge if _CHALLENGE.fullmatch(challenge) else None


# --- mapping ------------------------------------------------------------------------------


class _Refused(Exception):
    """A field that cannot be mapped: the message is the Unmappable's reason."""


class _Ignored(_Refused):
    """A change understood and left alone on purpose."""


def map_feed(payload: Any, pages: Mapping[str, str]) -> MappedWebhook:
    """The items of a Page (`object: "page"`) or Instagram notification.

    `pages` maps a Page id (or Instagram account id), `entry[].id`, to the account's name.
    """
    result = MappedWebhook()
    if not isinstance(payload, Mapping):
        reason = f"payload: a {type(payload).__name__}, not a JSON object"
        result.unmappable.append(Unmappable(reason, {"payload": payload}))
        return result
    whole = dict(payload)
    kind = payload.get("object")
    if kind not in ("page", "instagram"):
        result.unmappable.append(Unmappable(f"object: {kind!r} is not page or instagram", whole))
        return result
    entries = payload.get("entry")
    if not isinstance(entries, list):
        result.unmappable.append(Unmappable("entry: missing or not a list", whole))
        return result
    for i, entry in enumerate(entries):
        where = f"entry[{i}]"
        if not isinstance(entry, Mapping):
            result.unmappable.append(Unmappable(f"{where}: not an object", {"entry": entry}))
            continue
        try:
            page_id, account, sent_at = _entry_head(entry, where, pages)
            changes = list(_changes(entry, where))
        except _Refused as refused:
            result.unmappable.append(Unmappable(str(refused), dict(entry)))
            continue
        for path, change in changes:
            try:
                if not isinstance(change, Mapping):
                    raise _Refused(f"{path}: not an object")
                if kind == "page":
                    item = _page_change(change, path, page_id, account, sent_at)
                else:
                    item = _instagram_change(change, path, page_id, account, sent_at)
            except _Refused as refused:
                body = dict(change) if isinstance(change, Mapping) else {"change": change}
                kept = result.ignored if isinstance(refused, _Ignored) else result.unmappable
                kept.append(Unmappable(str(refused), body))
                continue
            result.items.append(item)
    return result


def _entry_head(
    entry: Mapping[str, Any], where: str, pages: Mapping[str, str]
) -> tuple[str, str, datetime | None]:
    raw_id = entry.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
        raise _Refused(f"{where}.id: missing or not a string")
    page_id = str(raw_id)
    account = pages.get(page_id)
    if not account:
        raise _Refused(f"{where}.id: page {page_id} is not configured (moderation.meta_pages)")
    sent_at = None
    if "time" in entry:
        sent_at = _time(entry["time"], f"{where}.time")
    return page_id, account, sent_at


def _changes(entry: Mapping[str, Any], where: str) -> Iterator[tuple[str, Any]]:
    changes = entry.get("changes")
    if changes is None and "field" in entry:
        # Meta's Instagram examples show field and value on the entry itself.
        yield where, entry
        return
    if not isinstance(changes, list):
        raise _Refused(f"{where}.changes: missing or not a list (only changes are mapped)")
    for j, change in enumerate(changes):
        yield f"{where}.changes[{j}]", change


def _page_change(
    change: Mapping[str, Any], path: str, page_id: str, account: str, sent_at: datetime | None
) -> Inbound:
    if change.get("field") != "feed":
        raise _Refused(f"{path}.field: {change.get('field')!r} is not feed")
    value = _object(change.get("value"), f"{path}.value")
    at = f"{path}.value"
    item = value.get("item")
    if item in _IGNORED_ITEMS:
        raise _Ignored(f"{at}.item: {item!r} is not moderated")
    if item != "comment" and item not in _POST_ITEMS:
        raise _Refused(f"{at}.item: {item!r} is not comment, {', '.join(_POST_ITEMS)}")
    verb = value.get("verb")
    if verb == "unhide":
        raise _Refused(f"{at}.verb: 'unhide' has no inbound kind (it is not mapped)")
    if verb not in _VERBS:
        raise _Refused(f"{at}.verb: {verb!r} is not add, edited, remove or hide")
    # A comment's post and parent matter when it arrives; a change names only the comment.
    post_id = _id(value, "post_id", at, required=verb == "add")
    if item == "comment":
        platform_id = _id(value, "comment_id", at)
        parent = _id(value, "parent_id", at, required=False)
        reply_to = parent if parent != post_id else ""
    else:
        platform_id = _id(value, "post_id", at)
        reply_to = ""
    if verb in ("edited", "remove", "hide"):
        when = sent_at or _created(value.get("created_time"), f"{at}.created_time", None)
        if verb == "edited":
            text = _text(value, "message", at)
            fields: dict[str, Any] = {"text": text, "links": _links(text)}
            return _inbound("edit", "facebook", platform_id, account, when, path, **fields)
        how = "removed" if verb == "remove" else "hidden"
        return _inbound("delete", "facebook", platform_id, account, when, path, how=how)
    author = _author(value, "name", at, page_id)
    created = _created(value.get("created_time"), f"{at}.created_time", sent_at)
    text = _text(value, "message", at)
    kind: Kind = "comment"
    if item != "comment":
        # A visitor's post is received like a comment; only the Page's own is a post.
        kind = "post" if author.is_kommun else "comment"
        post_id = ""
    return _inbound(
        kind,
        "facebook",
        platform_id,
        account,
        created,
        path,
        post_id=post_id,
        reply_to=reply_to,
        author=author,
        text=text,
        links=_links(text),
    )


def _instagram_change(
    change: Mapping[str, Any], path: str, account_id: str, account: str, sent_at: datetime | None
) -> Inbound:
    name = change.get("field")
    if name not in _INSTAGRAM_FIELDS:
        raise _Refused(f"{path}.field: {name!r} is not comments or live_comments")
    value = _object(change.get("value"), f"{path}.value")
    at = f"{path}.value"
    platform_id = _id(value, "id", at)
    media = _object(value.get("media"), f"{at}.media")
    post_id = _id(media, "id", f"{at}.media")
    reply_to = _id(value, "parent_id", at, required=False)
    author = _author(value, "username", at, account_id)
    # The value has no time of its own; the entry's time is when Meta sent it.
    created = _created(value.get("created_time"), f"{at}.created_time", sent_at)
    text = _text(value, "text", at)
    return _inbound(
        "comment",
        "instagram",
        platform_id,
        account,
        created,
        path,
        post_id=post_id,
        reply_to=reply_to,
        author=author,
        text=text,
        links=_links(text),
    )


def _inbound(
    kind: Kind,
    platform: Platform,
    platform_id: str,
    account: str,
    created_at: datetime,
    path: str,
    **fields: Any,
) -> Inbound:
    try:
        return Inbound(
            kind=kind,
            platform=platform,
            platform_id=platform_id,
            account=account,
            created_at=created_at,
            **fields,
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "item"
        raise _Refused(f"{path}: {where}: {first['msg']}") from None


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Refused(f"{where}: missing or not an object")
    return value


def _id(value: Mapping[str, Any], name: str, where: str, *, required: bool = True) -> str:
    raw = value.get(name)
    if raw is None or raw == "":
        if required:
            raise _Refused(f"{where}.{name}: missing")
        return ""
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise _Refused(f"{where}.{name}: not a string")
    return str(raw)


def _text(value: Mapping[str, Any], name: str, where: str) -> str:
    # A comment of only a photo or sticker has no text; that is still a comment.
    raw = value.get(name, "")
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise _Refused(f"{where}.{name}: not a string")
    return raw


def _author(value: Mapping[str, Any], name_key: str, where: str, page_id: str) -> Author:
    sender = _object(value.get("from"), f"{where}.from")
    author_id = _id(sender, "id", f"{where}.from")
    name = sender.get(name_key, "")
    if not isinstance(name, str):
        raise _Refused(f"{where}.from.{name_key}: not a string")
    # The Page (or Instagram account) writing is the kommun writing (P10.6).
    return Author(id=author_id, name=name, is_kommun=author_id == page_id)


def _created(raw: Any, where: str, sent_at: datetime | None) -> datetime:
    if raw is None:
        if sent_at is None:
            raise _Refused(f"{where}: missing, and the entry has no time")
        return sent_at
    return _time(raw, where)


def _time(raw: Any, where: str) -> datetime:
    """Unix seconds or an ISO 8601 string with an offset, as aware UTC."""
    if isinstance(raw, bool) or raw is None:
        raise _Refused(f"{where}: {raw!r} is not a time")
    if isinstance(raw, int | float):
        try:
            return datetime.fromtimestamp(raw, UTC)
        except (OverflowError, OSError, ValueError):
            raise _Refused(f"{where}: {raw!r} is out of range") from None
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise _Refused(f"{where}: {raw[:40]!r} is not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise _Refused(f"{where}: {raw[:40]!r} has no UTC offset")
        return parsed.astimezone(UTC)
    raise _Refused(f"{where}: a {type(raw).__name__} is not a time")


def _links(text: str) -> list[str]:
    links: list[str] = []
    for match in _URL.finditer(text):
        link = match.group(0).rstrip(_URL_TAIL)
        if link not in links and len(link) > len("https://"):
            links.append(link)
        if len(links) == _MAX_LINKS:
            break
    return links

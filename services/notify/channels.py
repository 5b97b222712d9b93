"""The ways a notification leaves Kanalvakt: e-mail over SMTP, and webhooks (signed JSON,
or a Microsoft Teams card). An adapter: every error comes back as a `Result` (ok, detail)
for the delivery log, never raised past it, so one recipient's channel being down is
that notification's failed attempt and nobody else's problem.

E-mail: SMTP_HOST, SMTP_PORT, SMTP_SECURITY (`starttls`, `tls` implicit TLS, `none`),
SMTP_USERNAME/SMTP_PASSWORD (AUTH when a username is set), SMTP_TIMEOUT_SECONDS. From is
the kommun's `notify.sender`, else "Kanalvakt <kommun name> <kanalvakt@<web domain>>".
Multipart text + HTML; `Message-ID` is made from the notification id, so a message sent
again (an attempt that timed out after the server took it) is recognisably the same.

Webhooks: a JSON POST signed with HMAC-SHA256 (`sign`, `verify_signature`):

    X-Kanalvakt-Timestamp:    unix seconds when it was sent
    X-Kanalvakt-Signature:    sha256=<hex HMAC-SHA256 of f"{timestamp}.{body}" with the key>
    X-Kanalvakt-Notification: the notification id (a resend carries the same: drop it)

A receiver recomputes the HMAC over the timestamp header, a dot and the raw body bytes,
compares in constant time, and refuses a timestamp more than 5 minutes (REPLAY_WINDOW)
from its own clock, so a captured request cannot be replayed later. Keys come from
NOTIFY_WEBHOOK_SECRETS_FILE (YAML `<kommun>: {<secret name>: <key>}`), chosen by the
webhook's `secret` in the kommun's configuration; the key never appears in a log or event.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
import yaml

from services.notify.domain.notifications import Channel, Message, Notification, Person
from shared.kommun import KommunConfig, Language, Webhook
from shared.personnummer import letter_digest
from shared.settings import Settings

log = logging.getLogger("kanalvakt.notify.channels")

TIMESTAMP_HEADER = "X-Kanalvakt-Timestamp"
SIGNATURE_HEADER = "X-Kanalvakt-Signature"
NOTIFICATION_HEADER = "X-Kanalvakt-Notification"
REPLAY_WINDOW_SECONDS = 300.0  # receivers refuse a timestamp further than this from now
WEBHOOK_TIMEOUT_SECONDS = 10.0  # one POST, connect to answer


@dataclass(frozen=True)
class Result:
    ok: bool
    detail: str  # the SMTP reply, the HTTP status, or why it failed (for the log)


def _failed(exc: BaseException) -> Result:
    return Result(False, f"{type(exc).__name__}: {exc}"[:500])


# E-mail ---------------------------------------------------------------------------------


def sender_of(kommun: KommunConfig) -> str:
    """The From of the kommun's e-mail: `notify.sender`, else one naming the kommun at
    its web site's domain."""
    if kommun.notify.sender:
        return kommun.notify.sender
    host = (kommun.kommun.web_url.host or "localhost").removeprefix("www.")
    return formataddr((f"Kanalvakt {kommun.kommun.name}", f"kanalvakt@{host}"))


def message_id(key: str, sender: str) -> str:
    """`<letter digest of the key@sender's domain>`: the same notification (or digest)
    always has the same Message-ID, so a resend is recognisable as one; letters only,
    so it never looks like a personnummer (L7)."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "kanalvakt"
    return f"<{letter_digest(key)}@{domain}>"


def email_message(
    *, sender: str, to: Person, message: Message, key: str, now: datetime
) -> EmailMessage:
    """The e-mail of a message: text and HTML alternatives, in the language it was
    rendered in, marked as sent by a machine (RFC 3834) so no auto-reply answers it."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = formataddr((to.name, to.email)) if to.name else to.email
    mail["Subject"] = message.subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id(key, sender)
    mail["Auto-Submitted"] = "auto-generated"
    mail["X-Kanalvakt-Notification"] = key
    mail.set_content(message.text)
    mail.add_alternative(message.html or message.text, subtype="html")
    mail["Content-Language"] = to.language  # after the content, which resets Content-*
    return mail


async def send_email(settings: Settings, mail: EmailMessage) -> Result:
    """One SMTP session. Security `starttls` upgrades a plain connection (587), `tls`
    connects with TLS (465), `none` sends in clear (a relay on a trusted network)."""
    if not settings.smtp_host:
        return Result(False, "SMTP_HOST is not set: notify sends no e-mail")
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        refused, reply = await aiosmtplib.send(
            mail,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=password if settings.smtp_username else None,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            cert_bundle=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
            timeout=settings.smtp_timeout_seconds,
        )
    except Exception as exc:  # the adapter's promise: a result, never a raise
        return _failed(exc)
    if refused:
        why = "; ".join(f"{a}: {r.code} {r.message}" for a, r in refused.items())
        return Result(False, f"refused: {why}"[:500])
    return Result(True, reply[:500] or "250")


# Webhooks -------------------------------------------------------------------------------


def sign(key: str | bytes, timestamp: int | str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 with `key` over `f"{timestamp}.{body}"`."""
    secret = key.encode() if isinstance(key, str) else key
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    key: str | bytes,
    timestamp: int | str,
    body: bytes,
    signature: str,
    now: datetime,
    window: float = REPLAY_WINDOW_SECONDS,
) -> bool:
    """What a receiver checks: the signature is the key's over this timestamp and body
    (constant-time), and the timestamp lies within `window` seconds of `now` either way
    (a replayed old request, or one from a clock far off, is refused)."""
    try:
        sent = int(str(timestamp).strip())
    except ValueError:
        return False
    if abs(now.timestamp() - sent) > window:
        return False
    return hmac.compare_digest(sign(key, sent, body).encode(), signature.strip().encode())


def json_payload(n: Notification) -> dict[str, Any]:
    """Kanalvakt's webhook body: the message's words and links, and what it is about."""
    return {
        "notification_id": n.id,
        "event_id": n.event_id,
        "event_type": n.event_type,
        "kommun": n.kommun,
        "level": n.level,
        "subject": n.message.subject,
        "text": n.message.text,
        "link": n.message.link,
        "acknowledge_url": n.message.acknowledge_url,
    }


_TEAMS_WORDS: dict[Language, dict[str, str]] = {
    "sv": {"open": "Öppna i Kanalvakt", "acknowledge": "Kvittera"},
    "en": {"open": "Open in Kanalvakt", "acknowledge": "Acknowledge"},
}


def teams_payload(message: Message, language: Language) -> dict[str, Any]:
    """A message with one Adaptive Card attachment, the shape a Teams Workflows "post to
    a channel when a webhook request is received" flow and an incoming webhook take."""
    words = _TEAMS_WORDS.get(language, _TEAMS_WORDS["sv"])
    actions = []
    if message.link:
        actions.append({"type": "Action.OpenUrl", "title": words["open"], "url": message.link})
    if message.acknowledge_url:
        actions.append(
            {
                "type": "Action.OpenUrl",
                "title": words["acknowledge"],
                "url": message.acknowledge_url,
            }
        )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": message.subject,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            {"type": "TextBlock", "text": message.text, "wrap": True},
        ],
    }
    if actions:
        card["actions"] = actions
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed (UTF-8 JSON, compact)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookKeys:
    """The signing keys of NOTIFY_WEBHOOK_SECRETS_FILE, read again when the file changes
    (a rotated secret takes effect without a restart, within CHECK_SECONDS). The file is
    looked at (a stat, blocking) at most once per CHECK_SECONDS, not on every send."""

    CHECK_SECONDS = 5.0

    def __init__(self, path: Path | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._stamp: float | None = None
        self._checked: float | None = None  # when the file was last looked at
        self._keys: dict[str, dict[str, str]] = {}

    def key(self, kommun: str, name: str) -> str | Result:
        """The key, or the failed Result saying why there is none."""
        if self.path is None:
            return Result(False, "NOTIFY_WEBHOOK_SECRETS_FILE is not set: no webhook is signed")
        now = self._clock()
        if self._checked is None or now - self._checked >= self.CHECK_SECONDS:
            failed = self._load()
            if failed is not None:
                return failed
            self._checked = now
        found = self._keys.get(kommun, {}).get(name)
        if not found:
            return Result(
                False, f"no webhook key {name!r} for kommun {kommun!r} in the webhook secrets file"
            )
        return found

    def _load(self) -> Result | None:
        """Read the file again if it changed; the failed Result when it cannot be read
        (looked at again on the next send, not after CHECK_SECONDS)."""
        assert self.path is not None
        try:
            stamp = self.path.stat().st_mtime
            if stamp != self._stamp:
                raw = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
                if not isinstance(raw, dict):
                    return Result(False, "webhook secrets file: not a mapping of kommun ids")
                self._keys = {
                    str(k): {str(n): str(v) for n, v in (keys or {}).items()}
                    for k, keys in raw.items()
                    if isinstance(keys, dict) or keys is None
                }
                self._stamp = stamp
        except (OSError, yaml.YAMLError, AttributeError) as exc:
            return Result(False, f"webhook secrets file unreadable: {type(exc).__name__}")
        return None


async def post_webhook(
    client: httpx.AsyncClient,
    url: str,
    payload: dict[str, Any],
    key: str,
    notification: str,
    now: datetime,
) -> Result:
    """POST the payload signed at `now`; 2xx is delivered, anything else a failure."""
    body = body_of(payload)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(key, timestamp, body),
        NOTIFICATION_HEADER: notification,
        "User-Agent": "Kanalvakt-notify",
    }
    try:
        response = await client.post(url, content=body, headers=headers)
    except Exception as exc:  # the adapter's promise: a result, never a raise
        return _failed(exc)
    detail = f"HTTP {response.status_code}"
    return Result(response.is_success, detail)


# Both, by notification ------------------------------------------------------------------


class Channels:
    """Sends a notification, or a digest, by its channel; keeps one HTTP client."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.http = http or httpx.AsyncClient(
            timeout=WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False
        )
        self.keys = WebhookKeys(settings.notify_webhook_secrets_file)

    async def aclose(self) -> None:
        await self.http.aclose()

    @property
    def timeout(self) -> float:
        """How long one send may take, whatever the channel: its bound in delivery."""
        return max(self.settings.smtp_timeout_seconds * 2, WEBHOOK_TIMEOUT_SECONDS) + 5

    async def send(self, kommun: KommunConfig, n: Notification, now: datetime) -> Result:
        try:
            if n.channel is Channel.EMAIL:
                return await self.email(kommun, n.recipient, n.message, n.id, now)
            return await self.webhook(kommun, n, now)
        except Exception as exc:  # a bug here is still one notification's failure
            log.exception("sending notification %s failed unexpectedly", n.id)
            return _failed(exc)

    async def email(
        self, kommun: KommunConfig, to: Person, message: Message, key: str, now: datetime
    ) -> Result:
        """An e-mail to `to`; `key` (the notification's or digest's id) is its identity."""
        mail = email_message(sender=sender_of(kommun), to=to, message=message, key=key, now=now)
        return await send_email(self.settings, mail)

    async def webhook(self, kommun: KommunConfig, n: Notification, now: datetime) -> Result:
        hook: Webhook | None = kommun.notify.webhooks.get(n.address)
        if hook is None:
            return Result(False, f"webhook {n.address!r} is no longer configured")
        key = self.keys.key(kommun.id, hook.secret)
        if isinstance(key, Result):
            return key
        if hook.format == "teams":
            payload = teams_payload(n.message, n.recipient.language)
        else:
            payload = json_payload(n)
        return await post_webhook(self.http, str(hook.url), payload, key, n.id, now)


async def bounded(send: Awaitable[Result], seconds: float) -> Result:
    """A send that takes longer than `seconds` is a failed attempt, not a hang."""
    try:
        result: Result = await asyncio.wait_for(send, seconds)
    except TimeoutError:
        return Result(False, f"no answer within {seconds:.0f} s")
    return result

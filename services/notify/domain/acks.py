"""Escalations that need acknowledging (P5.6, P5.8): who is told at each level, the
signed link that acknowledges without a login, and when the next level is told.

The link's token is the authority to acknowledge: HMAC-SHA256 over a small payload
(escalation id, e-mail address, expiry), URL-safe base64, compared in constant time.
It names no kommun: escalation ids are event ids, unique across kommuner.
"""

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from services.notify.domain.notifications import Person
from shared.rules import NotPermitted, RuleViolations, Violation
from shared.settings import Settings

log = logging.getLogger("kanalvakt.notify.acks")

RULE = "P5.6"  # the link is the ladder's: P5.8's escalations climb the same one


@dataclass(frozen=True)
class Escalation:
    id: str  # the event's id: one escalation per event
    kommun: str
    event_id: str
    event_type: str
    about: str  # what staff see it as: the account's name, the case id
    opened_at: datetime
    # Who each level tells, resolved from the directory when the event came.
    levels: tuple[tuple[Person, ...], ...]
    context: dict[str, str]  # the message's values, none secret (domain.messages)
    urgent: bool
    webhooks: tuple[str, ...] = ()
    level: int = 1  # the highest level told so far
    next_level_at: datetime | None = None  # None: no level left to tell
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""  # the e-mail address the link was made for

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


# The token ------------------------------------------------------------------------------


class LinkExpired(RuleViolations):
    """A genuine link past its time (410: ask for a new one, nothing to retry)."""

    status = 410


_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()
    return _b64(digest)


def sign(secret: bytes, escalation_id: str, email: str, expires: datetime) -> str:
    """The token of an acknowledge link: `<payload>.<mac>`, both URL-safe base64."""
    body = {"e": escalation_id, "m": email, "x": int(expires.timestamp())}
    payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_mac(secret, payload)}"


def _malformed(en: str) -> RuleViolations:
    return RuleViolations(
        [
            Violation(
                "token",
                RULE,
                "Länken är ofullständig eller felaktig; använd länken i meddelandet som den är.",
                f"the link is incomplete or altered ({en}); use the link in the message as it is",
            )
        ]
    )


def read(secret: bytes, token: str, now: datetime) -> tuple[str, str]:
    """The (escalation id, e-mail) a token was made for. A malformed token is 422, a
    forged one 403 (NotPermitted), an expired one 410 (LinkExpired): each names the
    field `token` and the rule."""
    if len(token) > 2048 or not _SHAPE.fullmatch(token):
        raise _malformed("not <payload>.<signature> in URL-safe base64")
    payload, _, mac = token.partition(".")
    if not hmac.compare_digest(mac.encode(), _mac(secret, payload).encode()):
        raise NotPermitted(
            [
                Violation(
                    "token",
                    RULE,
                    "Länken är inte utfärdad av Kanalvakt eller har ändrats.",
                    "the link's signature does not match: not issued by Kanalvakt, or altered",
                )
            ]
        )
    try:
        body = json.loads(_unb64(payload))
        escalation_id, email, expires = str(body["e"]), str(body["m"]), int(body["x"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _malformed("unreadable payload") from None
    if now.timestamp() >= expires:
        at = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise LinkExpired(
            [
                Violation(
                    "token",
                    RULE,
                    f"Länken gick ut {at}; kvittera i Kanalvakt eller be om en ny länk.",
                    f"the link expired at {at}; acknowledge in Kanalvakt or ask for a new link",
                )
            ]
        )
    return escalation_id, email


# A key made once per process when NOTIFY_ACK_SECRET is unset: links then die with the
# process and are not honoured by another replica (fine for one local replica only).
_PROCESS_KEY = secrets.token_bytes(32)
_warned: list[bool] = []  # the warning below, once per process


def ack_secret(settings: Settings) -> bytes:
    """The key that signs acknowledge links: NOTIFY_ACK_SECRET, else the process's own
    (with a warning, once: `warn_if_unsigned`)."""
    if settings.notify_ack_secret is None:
        warn_if_unsigned(settings)
        return _PROCESS_KEY
    return settings.notify_ack_secret.get_secret_value().encode()


def warn_if_unsigned(settings: Settings) -> bool:
    """Warn once per process when NOTIFY_ACK_SECRET is unset (called at start and on
    first use): True when it warned now."""
    if settings.notify_ack_secret is not None or _warned:
        return False
    _warned.append(True)
    log.warning(
        "NOTIFY_ACK_SECRET is not set: acknowledge links are signed with a key made by "
        "this process, so every link sent dies when it stops and any other replica "
        "refuses them (403). Set NOTIFY_ACK_SECRET, the same on every replica (P5.6)."
    )
    return True


# The ladder (P5.6, P5.8) ------------------------------------------------------------------


def acknowledge(escalation: Escalation, email: str, now: datetime) -> Escalation:
    """The first acknowledgement wins and stops the ladder; later ones change nothing."""
    if escalation.acknowledged:
        return escalation
    return replace(escalation, acknowledged_at=now, acknowledged_by=email, next_level_at=None)


def due_level(escalation: Escalation, now: datetime) -> int | None:
    """The level to tell now: the next one, when its time has come and nobody has
    acknowledged; None otherwise (not yet, acknowledged, or no level left)."""
    due = escalation.next_level_at
    if escalation.acknowledged or due is None or now < due:
        return None
    level = escalation.level + 1
    return level if level <= len(escalation.levels) else None


def first_told(due: Iterable[datetime], now: datetime) -> datetime:
    """When the first of a level's people is told: the earliest of their notifications'
    due times (the end of their quiet hours when held, else now); now if none."""
    return max(now, min(due, default=now))


def climb(
    escalation: Escalation,
    now: datetime,
    within: timedelta,
    told_at: datetime | None = None,
) -> tuple[int | None, Escalation]:
    """The next level to tell, if its time has come and nobody acknowledged, and the
    escalation advanced to it: the level after gets `within` to acknowledge, counted
    from `told_at` (when the new level is first told: the end of their quiet hours when
    every one of them has quiet hours now and the route is not urgent; `first_told`),
    now when not given; the last level leaves nothing to climb (next_level_at None).
    (None, unchanged) when not due."""
    due = escalation.next_level_at
    if escalation.acknowledged or due is None or now < due:
        return None, escalation
    level = due_level(escalation, now)
    if level is None:  # nobody left above: the ladder ends here
        return None, replace(escalation, next_level_at=None)
    start = max(now, told_at or now)
    after = start + within if level < len(escalation.levels) else None
    return level, replace(escalation, level=level, next_level_at=after)


def waiting_since(escalation: Escalation, now: datetime) -> float:
    """Seconds an unacknowledged escalation has waited (0 once acknowledged)."""
    if escalation.acknowledged:
        return 0.0
    return max(0.0, (now - escalation.opened_at).total_seconds())

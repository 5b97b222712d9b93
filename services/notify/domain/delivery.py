"""When a notification goes out: quiet hours, retries with backoff and jitter, digests.

Pure: the handler (handlers/delivery.py) claims what is due, sends it through a channel
(channels.py) and hands the result here; what the notification becomes, and which event
that causes, is decided here.
"""

import html
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Literal

from services.notify.domain.notifications import (
    Attempt,
    Channel,
    Message,
    Notification,
    Status,
)
from shared.clock import SWEDEN
from shared.events import NotificationFailed
from shared.events.notification import NotificationFailedData
from shared.kommun import Language, QuietHours, Retry
from shared.personnummer import letter_digest

# Quiet hours ---------------------------------------------------------------------------


def _clock(hh_mm: str) -> time:
    hours, minutes = hh_mm.split(":")
    return time(int(hours), int(minutes))


def quiet_until(quiet: QuietHours | None, now: datetime) -> datetime | None:
    """The end of the recipient's quiet hours if `now` lies inside them, else None.
    Quiet hours are wall-clock time in Sweden and may pass midnight (22:00–07:00)."""
    if quiet is None:
        return None
    start, end = _clock(quiet.start), _clock(quiet.end)
    if start == end:
        return None
    local = now.astimezone(SWEDEN)
    today = local.time()
    inside = start <= today < end if start < end else today >= start or today < end
    if not inside:
        return None
    day = local.date() if today < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=SWEDEN).astimezone(now.tzinfo)


# Retries: exponential backoff with jitter ----------------------------------------------

Jitter = Literal["full", "equal"]


def backoff_cap(attempt_number: int, retry: Retry) -> float:
    """The longest wait after failed attempt number `attempt_number` (1, 2, …):
    first_delay · 2^(n-1), never more than max_delay."""
    exponent = min(max(attempt_number, 1) - 1, 62)  # 2**62 s is past any max_delay
    return float(min(retry.max_delay_seconds, retry.first_delay_seconds * 2.0**exponent))


def retry_at(
    attempt_number: int,
    now: datetime,
    retry: Retry,
    rng: random.Random,
    jitter: Jitter = "equal",
) -> datetime:
    """When to try again after failed attempt number `attempt_number`.

    Jitter spreads the retries of many notifications that failed together (an SMTP
    server back after an outage) so they do not all come back at once. `full` waits
    anywhere in [0, cap]; `equal` (the default) in [cap/2, cap], so each wait is at
    least the one before until the cap: a channel that is down is asked less and less
    often, and never again at once.
    """
    cap = backoff_cap(attempt_number, retry)
    delay = rng.uniform(0.0, cap) if jitter == "full" else cap / 2 + rng.uniform(0.0, cap / 2)
    return now + timedelta(seconds=delay)


# One attempt's outcome ------------------------------------------------------------------


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # failed; tried again at due_at
    FAILED = "failed"  # failed for the last time: notification.failed


@dataclass(frozen=True)
class Attempted:
    notification: Notification
    outcome: Outcome
    failed: NotificationFailed | None = None  # the event, when outcome is FAILED


def claimed(notification: Notification, now: datetime, lease: timedelta) -> Notification:
    """Claimed by one replica until `now + lease`; another takes it only after that (a
    replica that died while sending)."""
    return replace(notification, claimed_until=now + lease)


# What is still to be sent: due now or later, by a retry or after quiet hours.
SENDABLE = frozenset({Status.PENDING, Status.HELD})


def claimable(notification: Notification, now: datetime) -> bool:
    """Due and not being sent by someone else (the store's due query, in Python)."""
    return (
        notification.status in SENDABLE
        and notification.due_at <= now
        and (notification.claimed_until is None or notification.claimed_until <= now)
    )


def attempted(
    notification: Notification,
    ok: bool,
    detail: str,
    now: datetime,
    retry: Retry,
    rng: random.Random,
    *,
    digest_id: str = "",
    retry_due: datetime | None = None,
) -> Attempted:
    """The notification after one attempt, its claim released. Sent (or digested, when it
    went out inside digest `digest_id`); else retried at a later `due_at` (a held one
    stays held, so it goes out in the recipient's next digest) — `retry_due` when given,
    the one time a failed digest's members all share (`digest_retry_at`); else, after
    `retry.max_attempts`, failed with the notification.failed event. The attempts are
    kept: they are the delivery log."""
    attempts = (*notification.attempts, Attempt(at=now, ok=ok, detail=detail[:500]))
    base = replace(notification, attempts=attempts, claimed_until=None)
    if ok:
        if digest_id:
            done = replace(base, status=Status.DIGESTED, digest_id=digest_id, sent_at=now)
        else:
            done = replace(base, status=Status.SENT, sent_at=now)
        return Attempted(done, Outcome.SENT)
    failures = sum(1 for a in attempts if not a.ok)
    if failures < retry.max_attempts:
        later = retry_due or retry_at(failures, now, retry, rng)
        return Attempted(replace(base, due_at=later), Outcome.RETRY)
    gave_up = replace(base, status=Status.FAILED)
    event = NotificationFailed.new(
        notification.kommun,
        subject=notification.id,
        time=now,
        data=NotificationFailedData(
            notification_id=notification.id,
            event_id=notification.event_id,
            event_type=notification.event_type,
            channel=notification.channel.value,
            recipient=notification.recipient.name or notification.address,
            address=notification.address,
            attempts=len(attempts),
            last_error=detail[:500] or "failed",
            failed_at=now,
        ),
    )
    return Attempted(gave_up, Outcome.FAILED, event)


# Digests: what quiet hours held, in one message ----------------------------------------


def digest_groups(due: Sequence[Notification]) -> dict[str, list[Notification]]:
    """Held e-mail notifications by recipient address, each group oldest first. A
    webhook is a machine's inbox and has no quiet hours to gather for: a held one is
    sent on its own when due."""
    groups: dict[str, list[Notification]] = {}
    for n in sorted(due, key=lambda n: (n.due_at, n.created_at, n.id)):
        if n.status is Status.HELD and n.channel is Channel.EMAIL:
            groups.setdefault(n.address.lower(), []).append(n)
    return groups


def digest_id(kommun: str, address: str, members: Iterable[str]) -> str:
    """The digest of exactly these notifications (their ids) to this address: the same
    digest sent again after a failed attempt has the same id, and its e-mail the same
    Message-ID; any other set of notifications (some of a group went in an earlier
    pass, a batch limit split it, one more fell due meanwhile) is another digest with
    another id, so a mail system never drops it as a copy (issue 11)."""
    key = "\n".join([kommun, address.lower(), *sorted(members)])
    return "digest:" + letter_digest(key)


def digest_retry_at(
    members: Sequence[Notification], now: datetime, retry: Retry, rng: random.Random
) -> datetime:
    """One retry time for a whole digest whose attempt failed, written to every member so
    they fall due together and go out again as the same digest. Its backoff is that of
    the member tried most often (this attempt included)."""
    failures = 1 + max((sum(1 for a in n.attempts if not a.ok) for n in members), default=0)
    return retry_at(failures, now, retry, rng)


def cancelled(notification: Notification) -> Notification:
    """Not to be sent: the escalation it belongs to was acknowledged before it went out
    (P5.6: the first acknowledgement stops the ladder; nobody else need hear). Kept in
    the delivery log as `cancelled`, with whatever attempts it had."""
    if notification.status not in SENDABLE:
        return notification
    return replace(notification, status=Status.CANCELLED, claimed_until=None)


_DIGEST_WORDS: dict[Language, dict[str, str]] = {
    "sv": {
        "subject": "Kanalvakt: {count} meddelanden medan du hade tyst tid",
        "one": "Kanalvakt: 1 meddelande medan du hade tyst tid",
        "intro": "Det här kom medan du hade tyst tid:",
        "open": "Öppna",
        "acknowledge": "Kvittera",
        "outro": "Varje rad har en länk till ärendet i Kanalvakt.",
    },
    "en": {
        "subject": "Kanalvakt: {count} messages during your quiet hours",
        "one": "Kanalvakt: 1 message during your quiet hours",
        "intro": "This came while you had quiet hours:",
        "open": "Open",
        "acknowledge": "Acknowledge",
        "outro": "Each line links to the item in Kanalvakt.",
    },
}


def digest_message(notifications: Sequence[Notification], language: Language) -> Message:
    """One message listing each held notification's subject with its links (the item,
    and the acknowledge link of one that needs acknowledging), in the recipient's
    language. Only the subjects and links the messages already carried: nothing new."""
    words = _DIGEST_WORDS.get(language, _DIGEST_WORDS["sv"])
    count = len(notifications)
    subject = words["one"] if count == 1 else words["subject"].format(count=count)
    lines = [words["intro"], ""]
    items = []
    for n in notifications:
        m = n.message
        lines.append(f"- {m.subject}")
        links = []
        if m.link:
            lines.append(f"  {words['open']}: {m.link}")
            links.append(f'<a href="{html.escape(m.link)}">{html.escape(words["open"])}</a>')
        if m.acknowledge_url:
            lines.append(f"  {words['acknowledge']}: {m.acknowledge_url}")
            links.append(
                f'<a href="{html.escape(m.acknowledge_url)}">'
                f"{html.escape(words['acknowledge'])}</a>"
            )
        suffix = (" — " + " · ".join(links)) if links else ""
        items.append(f"<li>{html.escape(m.subject)}{suffix}</li>")
    lines += ["", words["outro"]]
    body = (
        f"<p>{html.escape(words['intro'])}</p>\n<ul>\n"
        + "\n".join(items)
        + f"\n</ul>\n<p>{html.escape(words['outro'])}</p>"
    )
    return Message(subject=subject, text="\n".join(lines) + "\n", html=body)

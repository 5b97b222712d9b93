"""Notify's delivery rules without a store or a network (issue 11): backoff and jitter,
the outcome of an attempt, digests, quiet hours across midnight and DST, the e-mail and
the webhook signature."""

import os
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.notify.channels import (
    Result,
    WebhookKeys,
    body_of,
    email_message,
    json_payload,
    message_id,
    sender_of,
    sign,
    teams_payload,
    verify_signature,
)
from services.notify.domain import messages
from services.notify.domain.delivery import (
    Outcome,
    attempted,
    backoff_cap,
    cancelled,
    claimable,
    digest_groups,
    digest_id,
    digest_message,
    digest_retry_at,
    quiet_until,
    retry_at,
)
from services.notify.domain.notifications import (
    Channel,
    Message,
    Notification,
    Person,
    Status,
    notification_id,
)
from shared.clock import SWEDEN
from shared.events import NotificationFailed
from shared.kommun import QuietHours, Retry
from tests.helpers import kommun_config

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RETRY = Retry(max_attempts=4, first_delay_seconds=10, max_delay_seconds=60)
HOUR = timedelta(hours=1)


def rng(seed: int = 1) -> random.Random:
    return random.Random(seed)  # noqa: S311 - reproducible jitter, not a secret


def note(
    event_id: str = "ev1",
    address: str = "anna@nora.example",
    *,
    channel: Channel = Channel.EMAIL,
    status: Status = Status.PENDING,
    due_at: datetime = NOW,
    subject: str = "Konto utan bevakning",
    link: str = "https://kanalvakt.nora.example/accounts/a1",
    acknowledge_url: str = "",
    language: str = "sv",
) -> Notification:
    return Notification(
        id=notification_id(event_id, 1, channel, address),
        kommun="nora",
        event_id=event_id,
        event_type="account.unattended",
        event_time=NOW - timedelta(minutes=1),
        level=1,
        channel=channel,
        address=address,
        recipient=Person("Anna Admin", address, language, "administrators"),  # type: ignore[arg-type]
        message=Message(subject, f"{subject}.", f"<p>{subject}.</p>", link, acknowledge_url),
        urgent=False,
        created_at=NOW - timedelta(minutes=1),
        due_at=due_at,
        status=status,
    )


# Backoff ---------------------------------------------------------------------------------


def test_issue_11_backoff_doubles_from_first_delay_up_to_max_delay() -> None:
    assert [backoff_cap(n, RETRY) for n in range(1, 6)] == [10, 20, 40, 60, 60]
    assert backoff_cap(10_000, RETRY) == 60  # no overflow after very many attempts


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 8])
def test_issue_11_equal_jitter_waits_between_half_the_cap_and_the_cap(attempt: int) -> None:
    cap = backoff_cap(attempt, RETRY)
    r = rng(attempt)
    for _ in range(200):
        wait = (retry_at(attempt, NOW, RETRY, r) - NOW).total_seconds()
        assert cap / 2 <= wait <= cap


def test_issue_11_full_jitter_waits_anywhere_up_to_the_cap() -> None:
    r = rng(3)
    waits = [(retry_at(3, NOW, RETRY, r, "full") - NOW).total_seconds() for _ in range(500)]
    assert all(0 <= w <= 40 for w in waits)
    assert min(waits) < 10 < 30 < max(waits)  # spread over the whole range


def test_issue_11_jitter_spreads_retries_that_failed_together() -> None:
    r = rng(5)
    times = {retry_at(2, NOW, RETRY, r) for _ in range(50)}
    assert len(times) == 50


def test_issue_11_equal_jitter_never_waits_less_than_the_attempt_before() -> None:
    for seed in range(50):
        r = rng(seed)
        waits = [(retry_at(n, NOW, RETRY, r) - NOW).total_seconds() for n in range(1, 8)]
        # caps 10, 20, 40: while the cap doubles, each wait is at least the one before
        assert waits[0] <= waits[1] <= waits[2]


# An attempt's outcome --------------------------------------------------------------------


def test_issue_11_a_delivered_attempt_is_sent_with_its_time_and_log() -> None:
    n = replace(note(), claimed_until=NOW + timedelta(minutes=1))
    step = attempted(n, True, "250 OK", NOW, RETRY, rng())
    assert step.outcome is Outcome.SENT
    assert step.failed is None
    assert step.notification.status is Status.SENT
    assert step.notification.sent_at == NOW
    assert step.notification.claimed_until is None
    assert [(a.ok, a.detail) for a in step.notification.attempts] == [(True, "250 OK")]


def test_issue_11_failed_attempts_retry_later_then_fail_with_the_event() -> None:
    n = note()
    r = rng()
    dues = []
    for number in range(1, RETRY.max_attempts):
        step = attempted(n, False, "HTTP 503", NOW, RETRY, r)
        assert step.outcome is Outcome.RETRY
        assert step.failed is None
        assert step.notification.status is Status.PENDING
        dues.append(step.notification.due_at - NOW)
        assert len(step.notification.attempts) == number
        n = step.notification
    assert all(d > timedelta(0) for d in dues)
    last = attempted(n, False, "HTTP 503", NOW, RETRY, r)
    assert last.outcome is Outcome.FAILED
    assert last.notification.status is Status.FAILED
    assert len(last.notification.attempts) == RETRY.max_attempts  # the log is kept
    assert isinstance(last.failed, NotificationFailed)
    data = last.failed.data
    assert (data.notification_id, data.event_id, data.channel) == (n.id, "ev1", "email")
    assert (data.attempts, data.last_error, data.failed_at) == (4, "HTTP 503", NOW)
    assert data.address == "anna@nora.example"
    assert last.failed.kommun == "nora"


def test_issue_11_a_held_notification_that_fails_stays_held_for_the_next_digest() -> None:
    n = note(status=Status.HELD)
    step = attempted(n, False, "421 busy", NOW, RETRY, rng(), digest_id="digest:x")
    assert step.notification.status is Status.HELD
    assert step.notification.due_at > NOW
    ok = attempted(step.notification, True, "250", NOW, RETRY, rng(), digest_id="digest:x")
    assert ok.notification.status is Status.DIGESTED
    assert ok.notification.digest_id == "digest:x"


def test_issue_11_claimable_only_when_due_and_unclaimed() -> None:
    assert claimable(note(), NOW)
    assert not claimable(note(due_at=NOW + timedelta(seconds=1)), NOW)
    assert not claimable(replace(note(), claimed_until=NOW + timedelta(seconds=1)), NOW)
    assert claimable(replace(note(), claimed_until=NOW - timedelta(seconds=1)), NOW)
    assert not claimable(note(status=Status.SENT), NOW)


# Digests ---------------------------------------------------------------------------------


def test_P3_3_digest_groups_held_email_per_recipient_oldest_first() -> None:
    a1 = note("e1", "anna@nora.example", status=Status.HELD, due_at=NOW)
    a2 = note("e2", "Anna@Nora.example", status=Status.HELD, due_at=NOW - timedelta(hours=1))
    b1 = note("e3", "bo@nora.example", status=Status.HELD)
    pending = note("e4", "anna@nora.example")
    hook = note("e5", "teams", channel=Channel.WEBHOOK, status=Status.HELD)
    groups = digest_groups([a1, b1, pending, a2, hook])
    assert {k: [n.event_id for n in g] for k, g in groups.items()} == {
        "anna@nora.example": ["e2", "e1"],
        "bo@nora.example": ["e3"],
    }


def test_P3_3_digest_lists_subjects_and_links_in_the_recipients_language() -> None:
    items = [
        note("e1", subject="Kontot @nora saknar bevakning"),
        note("e2", subject="Ny kommentar <flaggad>", acknowledge_url="https://k/ack/t0k"),
    ]
    sv = digest_message(items, "sv")
    assert sv.subject == "Kanalvakt: 2 meddelanden medan du hade tyst tid"
    assert "- Kontot @nora saknar bevakning" in sv.text
    assert "https://kanalvakt.nora.example/accounts/a1" in sv.text
    assert "Kvittera: https://k/ack/t0k" in sv.text
    assert "&lt;flaggad&gt;" in sv.html
    assert "<flaggad>" not in sv.html
    en = digest_message(items[:1], "en")
    assert en.subject == "Kanalvakt: 1 message during your quiet hours"
    assert "Open: https://kanalvakt.nora.example/accounts/a1" in en.text


def test_issue_11_digest_id_is_its_members_and_survives_a_retry() -> None:
    held = [note("e1", status=Status.HELD), note("e2", status=Status.HELD)]
    ids = [n.id for n in held]
    first = digest_id("nora", "anna@nora.example", ids)
    assert first == digest_id("nora", "ANNA@nora.example", list(reversed(ids)))
    assert first != digest_id("nora", "bo@nora.example", ids)
    assert first != digest_id("sala", "anna@nora.example", ids)
    # A group split (a batch limit, a member retried apart, one more due): other ids.
    assert first != digest_id("nora", "anna@nora.example", ids[:1])
    assert digest_id("nora", "anna@nora.example", ids[:1]) != digest_id(
        "nora", "anna@nora.example", ids[1:]
    )
    assert first != digest_id("nora", "anna@nora.example", [*ids, "e3"])


def test_issue_11_a_failed_digest_retries_every_member_at_one_time() -> None:
    held = [note(f"e{i}", status=Status.HELD) for i in range(5)]
    held[0] = attempted(held[0], False, "421", NOW - HOUR, RETRY, rng()).notification
    later = digest_retry_at(held, NOW, RETRY, rng(7))
    # The backoff of the member tried most often: its second failure.
    assert NOW + timedelta(seconds=10) <= later <= NOW + timedelta(seconds=20)
    retried = [
        attempted(n, False, "421", NOW, RETRY, rng(i), retry_due=later).notification
        for i, n in enumerate(held)
    ]
    assert {n.due_at for n in retried} == {later}
    assert all(n.status is Status.HELD for n in retried)


def test_P5_6_cancelled_only_what_has_not_gone_out() -> None:
    for status in (Status.PENDING, Status.HELD):
        n = replace(note(status=status), claimed_until=NOW)
        gone = cancelled(n)
        assert (gone.status, gone.claimed_until, gone.sent_at) == (Status.CANCELLED, None, None)
    for status in (Status.SENT, Status.DIGESTED, Status.FAILED):
        assert cancelled(note(status=status)) == note(status=status)


# Quiet hours -----------------------------------------------------------------------------

NIGHT = QuietHours(start="22:00", end="07:00")


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SWEDEN)


def test_P5_1_quiet_hours_across_midnight() -> None:
    assert quiet_until(NIGHT, local(2026, 11, 23, 21, 59)) is None
    assert quiet_until(NIGHT, local(2026, 11, 23, 22, 0)) == local(2026, 11, 24, 7, 0)
    assert quiet_until(NIGHT, local(2026, 11, 24, 3, 0)) == local(2026, 11, 24, 7, 0)
    assert quiet_until(NIGHT, local(2026, 11, 24, 7, 0)) is None
    assert quiet_until(None, local(2026, 11, 24, 3, 0)) is None
    assert quiet_until(QuietHours(start="08:00", end="08:00"), local(2026, 11, 24, 8, 0)) is None


def test_P5_1_quiet_hours_within_one_day_and_in_utc() -> None:
    lunch = QuietHours(start="12:00", end="13:00")
    # 11:30 UTC is 12:30 in Stockholm in winter (CET)
    ends = quiet_until(lunch, datetime(2026, 11, 23, 11, 30, tzinfo=UTC))
    assert ends == datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert ends is not None
    assert ends.tzinfo == UTC
    assert quiet_until(lunch, datetime(2026, 11, 23, 12, 0, tzinfo=UTC)) is None


def test_P5_1_quiet_hours_across_the_dst_changes() -> None:
    # Spring forward 2026-03-29 02:00 -> 03:00: the night is an hour shorter, and ends at
    # 07:00 local, summer time (05:00 UTC).
    spring = quiet_until(NIGHT, datetime(2026, 3, 28, 22, 30, tzinfo=UTC))  # 23:30 CET
    assert spring == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    # Fall back 2026-10-25 03:00 -> 02:00: ends 07:00 CET (06:00 UTC).
    autumn = quiet_until(NIGHT, datetime(2026, 10, 24, 21, 0, tzinfo=UTC))  # 23:00 CEST
    assert autumn == datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
    # Quiet hours from 02:30 on the spring night: 02:30 never happens; 03:10 CEST is in.
    early = QuietHours(start="02:30", end="06:00")
    assert quiet_until(early, datetime(2026, 3, 29, 1, 10, tzinfo=UTC)) == datetime(
        2026, 3, 29, 4, 0, tzinfo=UTC
    )


# The e-mail and the webhook signature ----------------------------------------------------


def test_issue_11_email_is_multipart_with_a_message_id_from_the_notification() -> None:
    n = note()
    mail = email_message(
        sender="Kanalvakt <kanalvakt@nora.example>",
        to=n.recipient,
        message=n.message,
        key=n.id,
        now=NOW,
    )
    assert mail.is_multipart()
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["Message-ID"] == message_id(n.id, "kanalvakt@nora.example")
    assert mail["Message-ID"].endswith("@nora.example>")
    assert mail["Message-ID"] != message_id(note("ev2").id, "kanalvakt@nora.example")
    assert mail["To"] == "Anna Admin <anna@nora.example>"
    assert mail["Date"] == "Mon, 23 Nov 2026 09:00:00 +0000"
    assert mail["Content-Language"] == "sv"


def test_L7_message_and_digest_ids_hold_no_digit_a_personnummer_could_be_read_from() -> None:
    # The key that once gave `<…3705683385…@…>`, a valid samordningsnummer in hex.
    keys = ["01M8CQ3KMRCW5EDNGRBWM0RHF0:1:email:anna.andersson@nora.example"]
    keys += [f"n{i}" for i in range(2_000)]
    ids = [message_id(k, "kanalvakt@nora.example") for k in keys]
    ids += [digest_id("nora", "anna@nora.example", [k]) for k in keys]
    assert not [i for i in ids if any(c.isdigit() for c in i.split("@")[0])]
    assert len(set(ids)) == len(ids)


def test_issue_11_default_sender_names_the_kommun() -> None:
    config = kommun_config("nora")
    bare = config.model_copy(update={"notify": config.notify.model_copy(update={"sender": ""})})
    sender = sender_of(bare)
    assert config.kommun.name in sender
    assert "<kanalvakt@" in sender
    assert message_id("x", sender).endswith(sender.rpartition("@")[2])


def test_issue_11_webhook_signature_verifies_within_the_replay_window_only() -> None:
    body = body_of(json_payload(note()))
    ts = int(NOW.timestamp())
    signature = sign("k1", ts, body)
    assert signature.startswith("sha256=")
    assert len(signature) == 7 + 64
    assert verify_signature("k1", str(ts), body, signature, NOW)
    assert verify_signature("k1", ts, body, signature, NOW + timedelta(minutes=4, seconds=59))
    assert not verify_signature("k1", ts, body, signature, NOW + timedelta(minutes=5, seconds=1))
    assert not verify_signature("k1", ts, body, signature, NOW - timedelta(minutes=6))
    assert not verify_signature("k2", ts, body, signature, NOW)
    assert not verify_signature("k1", ts, body + b" ", signature, NOW)
    assert not verify_signature("k1", ts + 1, body, signature, NOW)
    assert not verify_signature("k1", "soon", body, signature, NOW)


def test_issue_11_teams_payload_is_an_adaptive_card_message() -> None:
    n = note(acknowledge_url="https://k/ack/t")
    payload = teams_payload(n.message, "en")
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["body"][0]["text"] == n.message.subject
    assert [a["title"] for a in card["actions"]] == ["Open in Kanalvakt", "Acknowledge"]
    assert json_payload(n)["notification_id"] == n.id


def test_issue_11_webhook_keys_look_at_the_file_once_per_interval(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.yaml"
    path.write_text("nora: {teams: k1}\n", encoding="utf-8")
    ticks = [100.0]
    keys = WebhookKeys(path, clock=lambda: ticks[0])
    assert keys.key("nora", "teams") == "k1"
    path.write_text("nora: {teams: k2}\n", encoding="utf-8")
    os.utime(path, (1, 1))  # a changed stamp, however coarse the file system's clock
    ticks[0] += WebhookKeys.CHECK_SECONDS / 2
    assert keys.key("nora", "teams") == "k1"  # not looked at again yet: no stat
    ticks[0] += WebhookKeys.CHECK_SECONDS
    assert keys.key("nora", "teams") == "k2"  # the rotated key, without a restart
    missing = keys.key("nora", "other")
    assert isinstance(missing, Result)
    assert not missing.ok
    path.unlink()
    ticks[0] += WebhookKeys.CHECK_SECONDS
    gone = keys.key("nora", "teams")
    assert isinstance(gone, Result)
    assert "unreadable" in gone.detail


def test_issue_11_templates_are_not_reloaded_on_every_render() -> None:
    assert all(not env.auto_reload for env in messages._environments())

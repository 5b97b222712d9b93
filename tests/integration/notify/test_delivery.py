"""Notify delivers (issue 11): by e-mail through a real SMTP server and to a real webhook
receiver, signed; failures retried with growing delays then reported; one message even
with two deliverers; quiet hours gathered into a digest, urgent messages at once.

Notifications are made directly in the store here (routing is tested on its own); the
delivery loop of the service, every 0.2 s on the test's clock, sends them.

The webhook receiver's port is chosen before the service starts, so the kommun's
configuration can name its URL (`receiver_port`).
"""

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kanalvakt.processes import free_port
from services.notify import channels
from services.notify.channels import (
    NOTIFICATION_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    message_id,
    verify_signature,
)
from services.notify.domain.delivery import quiet_until
from services.notify.domain.notifications import (
    Channel,
    Message,
    Notification,
    Person,
    Status,
    notification_id,
)
from services.notify.handlers.delivery import deliver_due
from shared.ids import new_id
from shared.kommun import QuietHours
from tests.helpers import account_created
from tests.integration.notify import harness
from tests.integration.notify.harness import WEBHOOK_KEY, Clock, Notify, notify

SENDER = "kanalvakt@nora.example"  # the reference kommun's notify.sender
ANNA = Person("Anna Andersson", "anna.andersson@nora.example", "sv", "administrators")
BO = Person("Bo Berg", "bo.berg@nora.example", "en", "contact:informationsansvarig")
INFORMATIONSANSVARIG = "kommunchef@nora.example"  # the reference kommun's contacts
FORVALTNINGSCHEF = "fc.ks@nora.example"  # the head of account_created's department


def receiver_port(monkeypatch: pytest.MonkeyPatch) -> int:
    """The port the harness's webhook receiver will listen on, known in advance."""
    port = free_port()
    real = harness.WebhookReceiver
    monkeypatch.setattr(harness, "WebhookReceiver", lambda _port: real(port))
    return port


def hook_url(port: int, name: str) -> str:
    return f"http://{harness.HOST}:{port}/{name}"


def a_notification(
    n: Notify,
    person: Person,
    *,
    channel: Channel = Channel.EMAIL,
    address: str = "",
    event_type: str = "account.approved",
    subject: str = "Kontot är godkänt",
    due_at: datetime | None = None,
    status: Status = Status.PENDING,
    urgent: bool = False,
) -> Notification:
    event_id = new_id()
    address = address or person.email
    now = n.clock.now
    return Notification(
        id=notification_id(event_id, 1, channel, address),
        kommun="nora",
        event_id=event_id,
        event_type=event_type,
        event_time=now - timedelta(seconds=30),
        level=1,
        channel=channel,
        address=address,
        recipient=person,
        message=Message(
            subject=subject,
            text=f"{subject}.\nÖppna: https://kanalvakt.nora.example/accounts/{event_id}\n",
            html=f"<p>{subject}.</p>",
            link=f"https://kanalvakt.nora.example/accounts/{event_id}",
        ),
        urgent=urgent,
        created_at=now,
        due_at=due_at or now,
        status=status,
    )


async def add(n: Notify, notification: Notification) -> Notification:
    assert await n.deps.uow.add_once(n.deps.store.notifications.repo, notification)
    return notification


async def stored(n: Notify, notification_id: str) -> Notification:
    found = await n.deps.store.notifications.repo.get(notification_id)
    assert found is not None
    return found.item


async def until_status(n: Notify, nid: str, status: Status, attempts: int = 1) -> Notification:
    async def there() -> bool:
        item = await stored(n, nid)
        return item.status is status and len(item.attempts) >= attempts

    await n.until(there, f"{nid} {status} after {attempts} attempt(s)")
    return await stored(n, nid)


async def test_issue_11_email_is_multipart_with_a_message_id_from_the_notification(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        note = await add(n, a_notification(n, ANNA, subject="Kontot @noraidrott är godkänt"))
        (mail,) = await n.mail_to(ANNA.email)
        assert mail["Subject"] == "Kontot @noraidrott är godkänt"
        assert mail["Message-ID"] == message_id(note.id, SENDER)
        assert "Anna Andersson" in str(mail["To"])
        assert SENDER in str(mail["From"])
        assert mail["Date"] is not None
        assert mail.is_multipart()
        kinds = [part.get_content_type() for part in mail.iter_parts()]
        assert kinds == ["text/plain", "text/html"]
        text = mail.get_body(("plain",))
        assert text is not None
        assert note.message.link in text.get_content()
        sent = await until_status(n, note.id, Status.SENT)
        assert sent.sent_at == n.clock.now
        assert [a.ok for a in sent.attempts] == [True]
        assert sent.claimed_until is None


async def test_issue_11_webhook_is_signed_and_verifies_only_with_its_key_in_time(
    nats_url: str, mongodb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = receiver_port(monkeypatch)
    config = {"webhooks": {"drift": {"url": hook_url(port, "drift"), "secret": "test"}}}
    async with notify(nats_url, mongodb_url, tmp_path, config=config) as n:
        note = await add(
            n,
            a_notification(
                n, ANNA, channel=Channel.WEBHOOK, address="drift", event_type="comment.flagged"
            ),
        )
        await n.until(lambda: n.webhooks.received, "a webhook request")
        (hook,) = n.webhooks.received
        assert hook.path == "/drift"
        body = hook.json()
        assert body == {
            "notification_id": note.id,
            "event_id": note.event_id,
            "event_type": "comment.flagged",
            "kommun": "nora",
            "level": 1,
            "subject": note.message.subject,
            "text": note.message.text,
            "link": note.message.link,
            "acknowledge_url": "",
        }
        headers = {k.lower(): v for k, v in hook.headers.items()}
        timestamp = headers[TIMESTAMP_HEADER.lower()]
        signature = headers[SIGNATURE_HEADER.lower()]
        assert headers[NOTIFICATION_HEADER.lower()] == note.id
        assert int(timestamp) == int(n.clock.now.timestamp())
        now = n.clock.now
        assert verify_signature(WEBHOOK_KEY, timestamp, hook.body, signature, now)
        assert not verify_signature("another-key", timestamp, hook.body, signature, now)
        later = now + timedelta(minutes=6)  # the same request replayed after the window
        assert not verify_signature(WEBHOOK_KEY, timestamp, hook.body, signature, later)
        assert not verify_signature(WEBHOOK_KEY, timestamp, hook.body + b"x", signature, now)
        await until_status(n, note.id, Status.SENT)


async def test_issue_11_teams_webhook_gets_an_adaptive_card_signed(
    nats_url: str, mongodb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = receiver_port(monkeypatch)
    url = hook_url(port, "teams")
    config = {"webhooks": {"teams": {"url": url, "format": "teams", "secret": "test"}}}
    async with notify(nats_url, mongodb_url, tmp_path, config=config) as n:
        person = Person("Kanal", "teams", "sv", "webhook")
        note = await add(n, a_notification(n, person, channel=Channel.WEBHOOK, address="teams"))
        await n.until(lambda: n.webhooks.received, "a Teams request")
        (hook,) = n.webhooks.received
        payload = hook.json()
        assert payload["type"] == "message"
        (attachment,) = payload["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        card = attachment["content"]
        assert card["type"] == "AdaptiveCard"
        assert card["body"][0]["text"] == note.message.subject
        assert card["actions"][0] == {
            "type": "Action.OpenUrl",
            "title": "Öppna i Kanalvakt",
            "url": note.message.link,
        }
        headers = {k.lower(): v for k, v in hook.headers.items()}
        assert verify_signature(
            WEBHOOK_KEY,
            headers[TIMESTAMP_HEADER.lower()],
            hook.body,
            headers[SIGNATURE_HEADER.lower()],
            n.clock.now,
        )
        await until_status(n, note.id, Status.SENT)


async def test_issue_11_failing_webhook_retried_with_growing_delays_then_reported(
    nats_url: str, mongodb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = receiver_port(monkeypatch)
    config: dict[str, Any] = {
        "webhooks": {"drift": {"url": hook_url(port, "drift"), "secret": "test"}},
        "retry": {"max_attempts": 3, "first_delay_seconds": 10, "max_delay_seconds": 600},
    }
    async with notify(nats_url, mongodb_url, tmp_path, config=config) as n:
        n.webhooks.fail = -1  # always 503
        start = n.clock.now
        hook = await add(
            n,
            a_notification(
                n, ANNA, channel=Channel.WEBHOOK, address="drift", event_type="sla.breached"
            ),
        )
        mail = await add(n, a_notification(n, BO, event_type="sla.breached"))

        # The e-mail to another recipient goes at once, while the webhook is down.
        await n.mail_to(BO.email)
        assert (await until_status(n, mail.id, Status.SENT)).sent_at == start

        delays = []
        for attempt in (1, 2):
            item = await until_status(n, hook.id, Status.PENDING, attempts=attempt)
            assert len(item.attempts) == attempt
            waited = item.due_at - item.attempts[-1].at
            delays.append(waited.total_seconds())
            # Not before its time: the webhook is not asked again while the clock stands.
            await asyncio.sleep(0.5)
            assert len((await stored(n, hook.id)).attempts) == attempt
            n.clock.now = item.due_at
        # equal jitter: the first wait in [5, 10] s, the second in [10, 20] s
        assert 5 <= delays[0] <= 10
        assert 10 <= delays[1] <= 20
        assert delays[1] >= delays[0]

        failed = await until_status(n, hook.id, Status.FAILED, attempts=3)
        assert [a.ok for a in failed.attempts] == [False, False, False]
        assert {a.detail for a in failed.attempts} == {"HTTP 503"}
        assert len(n.webhooks.received) == 3
        assert failed.claimed_until is None

        (event,) = await n.events("notification.failed", about=hook.id)
        data = event["data"]
        assert data["notification_id"] == hook.id
        assert data["event_id"] == hook.event_id
        assert data["event_type"] == "sla.breached"
        assert data["channel"] == "webhook"
        assert data["address"] == "drift"
        assert data["attempts"] == 3
        assert data["last_error"] == "HTTP 503"
        assert WEBHOOK_KEY not in str(event)
        # Nothing more is sent once it failed.
        n.clock.advance(hours=2)
        await asyncio.sleep(0.5)
        assert len(n.webhooks.received) == 3


async def test_issue_11_two_deliverers_send_each_notification_once(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        later = n.clock.now + timedelta(minutes=1)  # the service's own loop leaves them
        people = [Person(f"P {i}", f"p{i}@nora.example", "sv", "administrators") for i in range(5)]
        notes = [await add(n, a_notification(n, p, due_at=later)) for p in people]
        await asyncio.gather(deliver_due(n.deps, later), deliver_due(n.deps, later))
        n.clock.now = later  # and now the loop is a third deliverer
        for note in notes:
            sent = await until_status(n, note.id, Status.SENT)
            assert len(sent.attempts) == 1
        await asyncio.sleep(0.6)
        for person, note in zip(people, notes, strict=True):
            mails = n.mailbox.to(person.email)
            assert [m["Message-ID"] for m in mails] == [message_id(note.id, SENDER)]


async def test_P5_8_quiet_hours_hold_for_one_digest_but_urgent_goes_at_once(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    night = QuietHours(start="22:00", end="07:00")
    evening = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 22:30 in Sweden
    ends = quiet_until(night, evening)
    assert ends == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    recipients = {ANNA.email: {"quiet_hours": {"start": "22:00", "end": "07:00"}}}
    async with notify(
        nats_url, mongodb_url, tmp_path, Clock(evening), config={"recipients": recipients}
    ) as n:
        held = [
            await add(
                n,
                a_notification(
                    n, ANNA, subject=subject, event_type=kind, status=Status.HELD, due_at=ends
                ),
            )
            for subject, kind in (
                ("Kontot @noraidrott är godkänt", "account.approved"),
                ("Ny flaggad kommentar på @norabibliotek", "comment.flagged"),
            )
        ]
        urgent = await add(
            n,
            a_notification(
                n,
                ANNA,
                subject="Säkerhetsärende: polisanmälan kan behövas",
                event_type="moderation.escalated",
                urgent=True,
            ),
        )
        (first,) = await n.mail_to(ANNA.email)
        assert first["Message-ID"] == message_id(urgent.id, SENDER)
        await asyncio.sleep(0.5)  # the night goes on: nothing else
        assert len(n.mailbox.to(ANNA.email)) == 1
        assert [(await stored(n, h.id)).status for h in held] == [Status.HELD, Status.HELD]

        n.clock.now = ends  # 07:00 in Sweden
        mails = await n.mail_to(ANNA.email, 2)
        digest = mails[1]
        assert digest["Subject"] == "Kanalvakt: 2 meddelanden medan du hade tyst tid"
        text = digest.get_body(("plain",))
        assert text is not None
        body = text.get_content()
        for h in held:
            assert h.message.subject in body
            assert h.message.link in body
        done = [await until_status(n, h.id, Status.DIGESTED) for h in held]
        assert len({d.digest_id for d in done}) == 1
        assert digest["Message-ID"] == message_id(done[0].digest_id, SENDER)
        assert all(d.sent_at == ends for d in done)
        await asyncio.sleep(0.5)
        assert len(n.mailbox.to(ANNA.email)) == 2  # one digest, not one per notification


async def test_issue_11_a_hanging_webhook_holds_up_no_other_recipient(
    nats_url: str, mongodb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A receiver that takes the request and never answers: its send waits for the
    # webhook timeout (2 s here), while e-mail to others goes at once, in the same pass
    # and in the passes after it.
    monkeypatch.setattr(channels, "WEBHOOK_TIMEOUT_SECONDS", 2.0)
    stuck, release = asyncio.Event(), asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        stuck.set()
        await release.wait()
        writer.close()

    server = await asyncio.start_server(silent, harness.HOST, 0)
    port = server.sockets[0].getsockname()[1]
    config = {"webhooks": {"tyst": {"url": hook_url(port, "tyst"), "secret": "test"}}}
    try:
        async with notify(
            nats_url, mongodb_url, tmp_path, config=config, smtp_timeout_seconds=0.5
        ) as n:
            hook = await add(n, a_notification(n, ANNA, channel=Channel.WEBHOOK, address="tyst"))
            await add(n, a_notification(n, BO))
            await n.mail_to(BO.email)
            await asyncio.wait_for(stuck.wait(), 5)
            later = await add(n, a_notification(n, ANNA, subject="Ännu ett meddelande"))
            await n.mail_to(ANNA.email)
            assert (await stored(n, hook.id)).attempts == ()  # still waiting for an answer
            await until_status(n, later.id, Status.SENT)
            failed = await until_status(n, hook.id, Status.PENDING, attempts=1)
            assert not failed.attempts[0].ok
            assert "Timeout" in failed.attempts[0].detail
    finally:
        release.set()
        server.close()


async def test_P3_6_plans_submitted_at_night_reach_a_quiet_recipient_in_one_digest(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    # From published events through routing: two plans submitted in the evening tell
    # the department head at once and the informationsansvarig, in quiet hours, in one
    # digest at 07:00 Swedish time.
    evening = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 22:30 in Sweden
    quiet = {"quiet_hours": {"start": "22:00", "end": "07:00"}}
    config = {"recipients": {INFORMATIONSANSVARIG: quiet}}
    async with notify(nats_url, mongodb_url, tmp_path, Clock(evening), config=config) as n:
        plans = [account_created(f"noraplan{new_id().lower()[-8:]}") for _ in range(2)]
        for plan in plans:
            await n.publish(plan)
        await n.mail_to(FORVALTNINGSCHEF, 2)  # no quiet hours: told at once

        async def held() -> list[Notification]:
            found = await n.deps.store.notifications.repo.find({"address": INFORMATIONSANSVARIG})
            return [f.item for f in found]

        async def both() -> bool:
            return len(await held()) == 2

        await n.until(both, "both plans held for the digest")
        notes = await held()
        morning = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
        assert {(x.status, x.due_at) for x in notes} == {(Status.HELD, morning)}
        await asyncio.sleep(0.5)
        assert n.mailbox.to(INFORMATIONSANSVARIG) == []

        n.clock.now = morning
        (digest,) = await n.mail_to(INFORMATIONSANSVARIG)
        text = digest.get_body(("plain",))
        assert text is not None
        body = text.get_content()
        for plan in plans:
            assert plan.data.name in body
            assert f"/accounts/{plan.data.account_id}" in body
        done = [await until_status(n, x.id, Status.DIGESTED) for x in notes]
        assert len({d.digest_id for d in done}) == 1
        assert digest["Message-ID"] == message_id(done[0].digest_id, SENDER)


class _FailFirstDigest:
    """A Channels stand-in: the first digest e-mail fails, later ones go; it records each
    digest's key (its Message-ID's source) and the subjects it listed."""

    timeout = 5.0

    def __init__(self) -> None:
        self.keys: list[str] = []  # every digest tried, failed or not
        self.sent: list[tuple[str, list[str]]] = []
        self.fail_next = True

    async def send(self, kommun: object, n: Notification, now: datetime) -> channels.Result:
        return channels.Result(True, "250")

    async def email(
        self, kommun: object, to: Person, message: Message, key: str, now: datetime
    ) -> channels.Result:
        self.keys.append(key)
        if self.fail_next:
            self.fail_next = False
            return channels.Result(False, "421 try later")
        lines = [line for line in message.text.splitlines() if line.startswith("- ")]
        self.sent.append((key, lines))
        return channels.Result(True, "250")


async def test_issue_11_a_failed_digest_goes_again_whole_and_another_digest_gets_another_id(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        at = n.clock.now + timedelta(hours=1)  # the service's own loop never reaches it
        a, b = [
            await add(n, a_notification(n, ANNA, subject=s, due_at=at, status=Status.HELD))
            for s in ("A", "B")
        ]
        stub = _FailFirstDigest()
        rng = random.Random(3)  # noqa: S311 - reproducible jitter
        await deliver_due(n.deps, at, channels=stub, rng=rng)  # type: ignore[arg-type]
        a1, b1 = await stored(n, a.id), await stored(n, b.id)
        assert (a1.status, b1.status) == (Status.HELD, Status.HELD)
        assert a1.due_at == b1.due_at > at  # one retry time for the whole digest
        await deliver_due(n.deps, a1.due_at, channels=stub, rng=rng)  # type: ignore[arg-type]
        [(key, lines)] = stub.sent
        assert sorted(lines) == ["- A", "- B"]  # together again
        assert key == stub.keys[0]  # the same digest again: the same Message-ID
        a2, b2 = await stored(n, a.id), await stored(n, b.id)
        assert a2.status is b2.status is Status.DIGESTED
        assert a2.digest_id == b2.digest_id == key

        # Another digest to the same person later: another id, another Message-ID.
        c = await add(n, a_notification(n, ANNA, subject="C", due_at=at, status=Status.HELD))
        await deliver_due(n.deps, a1.due_at, channels=stub, rng=rng)  # type: ignore[arg-type]
        assert [lines for _, lines in stub.sent[1:]] == [["- C"]]
        assert stub.sent[1][0] != key
        assert (await stored(n, c.id)).digest_id == stub.sent[1][0]

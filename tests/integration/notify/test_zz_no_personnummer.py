"""No message notify sends holds a personnummer (issue 11, L7).

Runs last of the notify tests (the file's name): it first sends messages about events
that carry personnummer where they may (a reporter's words, a police-report draft, a
moderator's reason), then searches every message delivered in this test session: by
the notify harness's SMTP server and webhook receiver (DELIVERED_IN_SUITE) and by every
`kanalvakt up` of the session (its mail sink's Maildir under the session's temp dir)."""

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from shared.events import (
    AccountCreated,
    AccountCreatedData,
    Actor,
    Author,
    CommentFlagged,
    CommentFlaggedData,
    ModerationDecided,
    ModerationDecidedData,
    ModerationEscalated,
    ModerationEscalatedData,
    PersonRef,
    PoliceReportDraft,
)
from shared.personnummer import find_personnummer
from tests.helpers import account_created
from tests.integration.notify.harness import DELIVERED_IN_SUITE, notify

PERSONNUMMER = "19811218-9876"
SHORT = "811218-9876"
ADMIN = PersonRef(name="Anna Andersson", email="anna.andersson@nora.example")
OFFICER = PersonRef(name="Handläggare Bygglov", email="bygglov@nora.example")


def _account() -> AccountCreated:
    created = account_created()
    data = AccountCreatedData.model_validate(
        created.data.model_dump() | {"administrators": [ADMIN.model_dump()]}
    )
    return AccountCreated.new("nora", created.subject, data, created.time)


async def test_L7_no_message_sent_in_the_suite_holds_a_personnummer(
    nats_url: str, mongodb_url: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = _account()
        await n.publish(account)
        account_id = account.data.account_id
        now = n.clock.now
        comment_id = "facebook-1234567890"
        flagged = CommentFlaggedData(
            comment_id=comment_id,
            account_id=account_id,
            action="review",
            categories=["confidential"],
            rules=["P7"],
            source="report",
            reason=f"Någon skrev mitt personnummer {PERSONNUMMER}, ta bort!",
        )
        await n.publish(CommentFlagged.new("nora", comment_id, flagged, now))
        draft = PoliceReportDraft(
            account_name=account.data.name,
            platform="facebook",
            account_url=str(account.data.url),
            comment_url=f"https://www.facebook.com/{comment_id}",
            text=f"Jag vet var du bor, {SHORT}.",
            author=Author(id="10001", name=f"Hotfull Person {PERSONNUMMER}"),
            written_at=now,
            received_at=now,
            archive_reference=comment_id,
            offence="olaga hot (BrB 4:5)",
        )
        escalated = ModerationEscalatedData(
            case_id=f"case-{comment_id}",
            comment_id=comment_id,
            account_id=account_id,
            category="threat",
            rules=["P5.8"],
            notify=[PersonRef(name="Säkerhetssamordnare", email="sakerhet@nora.example")],
            police_report=draft,
        )
        await n.publish(ModerationEscalated.new("nora", comment_id, escalated, now))
        decided = ModerationDecidedData(
            case_id=f"case-{comment_id}-q",
            comment_id=f"{comment_id}-q",
            account_id=account_id,
            resolution="forward",
            rules=["P5.4"],
            reason=f"Frågan gäller bygglov för {PERSONNUMMER}",
            by=Actor(subject="cecilia", name="Cecilia"),
            at=now + timedelta(minutes=1),
            forwarded_to=OFFICER,
        )
        await n.publish(ModerationDecided.new("nora", f"{comment_id}-q", decided, now))
        await n.mail_to(ADMIN.email, what="the flagged comment told to its administrator")
        await n.mail_to("sakerhet@nora.example", what="the threat escalated (P5.8)")
        await n.mail_to(OFFICER.email, what="the question forwarded (P5.4)")

    delivered = list(DELIVERED_IN_SUITE)
    for path in tmp_path_factory.getbasetemp().glob("**/mail/*/*"):
        if path.is_file():  # a `kanalvakt up` mail sink's message: raw and decoded
            raw = path.read_bytes()
            delivered.append(raw.decode("utf-8", "replace"))
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            delivered += [
                str(part.get_content())
                for part in message.walk()
                if part.get_content_maintype() == "text"
            ]
    assert delivered
    found = [text for text in delivered if find_personnummer(text)]
    assert found == [], f"{len(found)} of {len(delivered)} messages hold a personnummer"

"""Who hears what (issue 11's table, the kommun's `notify.routes`): each routing row with
events published as their producers would, on real NATS and the store, read back as
the mail a real SMTP server received and as the notifications notify stored.

The reference kommun (as nora): its organisation names the department and unit heads,
its contacts the informationsansvarig (kommunchef@) and the säkerhetssamordnare."""

import asyncio
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from services.notify.domain.acks import ack_secret, read
from services.notify.domain.notifications import Channel, Notification, Status
from services.notify.handlers.acks import climb_due
from shared.bus.streams import EVENTS_STREAM
from shared.events import (
    AccountActivated,
    AccountApproved,
    AccountApprovedData,
    AccountAttended,
    AccountAttendedData,
    AccountClosed,
    AccountCreated,
    AccountCreatedData,
    AccountDeadlines,
    AccountNoncompliant,
    AccountNoncompliantData,
    AccountRef,
    AccountUnattended,
    AccountUnattendedData,
    AccountUnsupervised,
    AccountUnsupervisedData,
    Actor,
    AdminAbsent,
    AdminAbsentData,
    AdminReturned,
    Author,
    CommentFlagged,
    CommentFlaggedData,
    DeadlineData,
    EscalationTarget,
    Event,
    Finding,
    ModerationDecided,
    ModerationDecidedData,
    ModerationEscalated,
    ModerationEscalatedData,
    PersonRef,
    PoliceReportDraft,
    SignatureRef,
    SlaBreached,
    SlaWarning,
)
from shared.ids import new_id
from tests.helpers import account_created, settled_through
from tests.integration.notify.harness import Notify, notify

ANNA = PersonRef(name="Anna Andersson", email="anna.andersson@nora.example")
BERTIL = PersonRef(name="Bertil Berg", email="bertil.berg@nora.example")
CECILIA = PersonRef(name="Cecilia Claesson", email="cecilia.claesson@nora.example")
INFORMATIONSANSVARIG = "kommunchef@nora.example"  # the reference kommun's contacts
SAKERHET = "sakerhet@nora.example"
FORVALTNINGSCHEF = "fc.ks@nora.example"  # Kommunstyrelseförvaltningen's head
ENHETSCHEF = "naringsliv@nora.example"  # its unit Näringsliv's head
LINKS = "https://kanalvakt.nora.example"


# Events as their producers make them -----------------------------------------------


def _created(*administrators: PersonRef) -> AccountCreated:
    created = account_created(f"norakommun{new_id().lower()[-8:]}")
    data = AccountCreatedData.model_validate(
        created.data.model_dump() | {"administrators": [a.model_dump() for a in administrators]}
    )
    return AccountCreated.new("nora", created.subject, data)


def _ref(account: AccountCreated) -> AccountRef:
    return AccountRef.model_validate(account.data.model_dump())


def _deadlines(account: AccountCreated) -> AccountDeadlines:
    return AccountDeadlines.model_validate(account.data.model_dump())


def _absence(
    n: Notify, account: AccountCreated, who: PersonRef, substitute: PersonRef | None
) -> AdminAbsentData:
    return AdminAbsentData(
        absence_id=new_id(),
        administrator=who,
        account_ids=[account.data.account_id],
        starts_at=n.clock.now - timedelta(hours=1),
        ends_at=n.clock.now + timedelta(days=7),
        substitute=substitute,
    )


def _flagged(account: AccountCreated, **changes: Any) -> CommentFlagged:
    comment_id = f"facebook-{new_id()}"
    data: dict[str, Any] = {
        "comment_id": comment_id,
        "account_id": account.data.account_id,
        "action": "remove",
        "categories": ["personal_attack"],
        "rules": ["P5.8"],
    } | changes
    return CommentFlagged.new("nora", comment_id, CommentFlaggedData.model_validate(data))


def _deadline(n: Notify, account: AccountCreated, *owners: PersonRef) -> DeadlineData:
    comment_id = f"facebook-{new_id()}"
    return DeadlineData(
        case_id=f"case-{comment_id}",
        comment_id=comment_id,
        account_id=account.data.account_id,
        label="answer",
        category="question",
        rules=["P5.3"],
        due=n.clock.now + timedelta(hours=4),
        owners=list(owners),
    )


# Publishing and reading back -----------------------------------------------------------


async def _publish(n: Notify, event: Event, msg_id: str = "") -> int:
    """Publish as the producer would; the stream sequence, to wait for its handling."""
    ack = await n.js.publish(
        event.address,
        event.model_dump_json().encode(),
        stream=EVENTS_STREAM,
        headers={"Nats-Msg-Id": msg_id or event.id},
    )
    return int(ack.seq)


async def _handled(n: Notify, event: Event, seq: int) -> list[Notification]:
    """The notifications stored for `event` once notify's consumer has settled it."""
    durable = f"notify-{event.nats_subject.replace('.', '-')}"

    async def settled() -> bool:
        return await settled_through(n.js, EVENTS_STREAM, durable, seq)

    await n.until(settled, f"{durable} handled {event.id}")
    found = await n.deps.store.notifications.repo.find({"event_id": event.id})
    return [f.item for f in found]


async def _told(n: Notify, event: Event) -> list[Notification]:
    return await _handled(n, event, await _publish(n, event))


async def _account(n: Notify, *administrators: PersonRef) -> AccountCreated:
    """An account notify's directory knows, its account.created handled."""
    account = _created(*administrators)
    await _told(n, account)
    return account


def _emails(notes: list[Notification]) -> dict[str, Notification]:
    return {x.address: x for x in notes if x.channel is Channel.EMAIL}


def _body(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


async def _mail(n: Notify, address: str, subject_part: str) -> EmailMessage:
    """The one message to `address` whose subject holds `subject_part`."""

    async def arrived() -> bool:
        return any(subject_part in str(m["Subject"]) for m in n.mailbox.to(address))

    await n.until(arrived, f"mail to {address} about {subject_part}")
    (mail,) = [m for m in n.mailbox.to(address) if subject_part in str(m["Subject"])]
    return mail


# The routing table, row by row ------------------------------------------------------------


async def test_P3_6_a_submitted_plan_tells_the_department_head_and_the_informationsansvarig(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = _created(ANNA)
        notes = _emails(await _told(n, account))
        assert set(notes) == {FORVALTNINGSCHEF, INFORMATIONSANSVARIG}
        assert notes[FORVALTNINGSCHEF].recipient.why == "department_head"
        assert notes[INFORMATIONSANSVARIG].recipient.why == "contact:informationsansvarig"
        name = account.data.name
        for address in (FORVALTNINGSCHEF, INFORMATIONSANSVARIG):
            mail = await _mail(n, address, name)
            assert mail["Subject"] == f"Ny verksamhetsplan att godkänna: {name}"
            assert f"{LINKS}/accounts/{account.data.account_id}" in _body(mail)
            assert "P3.6" in _body(mail)
        stored = await n.deps.store.directory.accounts.get(account.data.account_id)
        assert stored is not None
        assert [a.email for a in stored.item.administrators] == [ANNA.email]


async def test_P2_1_approval_activation_and_closing_tell_the_account_administrators(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = await _account(n, ANNA, BERTIL)
        signed = [
            SignatureRef(role=role, name="x", signed_at=n.clock.now)
            for role in ("administrator_1", "administrator_2", "department_head")
        ]
        approved = AccountApproved.new(
            "nora",
            account.subject,
            AccountApprovedData.model_validate(
                _ref(account).model_dump() | {"signatures": [s.model_dump() for s in signed]}
            ),
        )
        activated = AccountActivated.new("nora", account.subject, _deadlines(account))
        closed = AccountClosed.new("nora", account.subject, _ref(account))
        for event in (approved, activated, closed):
            notes = _emails(await _told(n, event))
            assert set(notes) == {ANNA.email, BERTIL.email}, event.nats_subject
            assert {x.recipient.why for x in notes.values()} == {"administrators"}
        await _mail(n, ANNA.email, "Verksamhetsplanen är godkänd")
        await _mail(n, BERTIL.email, "Kontot är igång")
        await _mail(n, ANNA.email, "Kontot är avslutat")
        stored = await n.deps.store.directory.accounts.get(account.data.account_id)
        assert stored is not None
        assert stored.item.closed


async def test_P3_5_a_noncompliant_account_tells_the_informationsansvarig_and_the_administrators(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = await _account(n, ANNA)
        finding = Finding(
            rule="P3.5",
            reason_sv="Inloggningsuppgifterna är inte deponerade",
            reason_en="The credentials are not deposited",
        )
        data = AccountNoncompliantData.model_validate(
            _ref(account).model_dump() | {"findings": [finding.model_dump()]}
        )
        notes = _emails(await _told(n, AccountNoncompliant.new("nora", account.subject, data)))
        assert set(notes) == {INFORMATIONSANSVARIG, ANNA.email}
        mail = await _mail(n, INFORMATIONSANSVARIG, "följer inte riktlinjerna")
        assert "Inloggningsuppgifterna är inte deponerade (P3.5)" in _body(mail)


async def test_P5_1_an_absence_tells_the_substitute_and_the_other_administrators(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = await _account(n, ANNA, BERTIL)
        absence = _absence(n, account, ANNA, CECILIA)
        notes = _emails(await _told(n, AdminAbsent.new("nora", absence.absence_id, absence)))
        assert set(notes) == {CECILIA.email, BERTIL.email}  # not the one who is away
        assert notes[CECILIA.email].recipient.why == "substitute"
        assert notes[BERTIL.email].recipient.why == "other_administrators"
        mail = await _mail(n, CECILIA.email, "är frånvarande")
        assert "Ersättare: Cecilia Claesson (P5.1)" in _body(mail)
        stored = await n.deps.store.directory.accounts.get(account.data.account_id)
        assert stored is not None
        assert [a.id for a in stored.item.absences] == [absence.absence_id]

        back = AdminReturned.new("nora", absence.absence_id, absence)
        assert set(_emails(await _told(n, back))) == {CECILIA.email, BERTIL.email}
        await _mail(n, BERTIL.email, "är tillbaka")
        stored = await n.deps.store.directory.accounts.get(account.data.account_id)
        assert stored is not None
        assert stored.item.absences == ()


async def test_P5_6_an_unattended_account_tells_the_enhetschef_with_a_link_to_acknowledge(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = await _account(n, ANNA)
        unit_head = PersonRef(name="Näringslivschef", email=ENHETSCHEF)
        department_head = PersonRef(name="Förvaltningschef KS", email=FORVALTNINGSCHEF)
        data = AccountUnattendedData.model_validate(
            _ref(account).model_dump()
            | {
                "since": n.clock.now,
                "absent": [ANNA.model_dump()],
                "escalate_to": [
                    EscalationTarget(level=1, role="enhetschef", person=unit_head).model_dump(),
                    EscalationTarget(
                        level=2, role="förvaltningschef", person=department_head
                    ).model_dump(),
                ],
            }
        )
        event = AccountUnattended.new("nora", account.subject, data)
        notes = await _told(n, event)
        assert [(x.address, x.level) for x in notes] == [(ENHETSCHEF, 1)]  # level 2 waits
        (note,) = notes
        assert note.escalation_id == event.id
        assert note.message.acknowledge_url.startswith(f"{LINKS}/acknowledge/")
        found = await n.deps.store.escalations.repo.get(event.id)
        assert found is not None
        escalation = found.item
        assert [[p.email for p in level] for level in escalation.levels] == [
            [ENHETSCHEF],
            [FORVALTNINGSCHEF],
        ]
        assert escalation.next_level_at == n.clock.now + timedelta(minutes=60)
        mail = await _mail(n, ENHETSCHEF, "Obevakat konto")
        assert note.message.acknowledge_url in _body(mail)
        token = note.message.acknowledge_url.rsplit("/", 1)[1]  # works without a login
        assert (await n.client.post(f"/acknowledge/{token}")).status_code == 200
        found = await n.deps.store.escalations.repo.get(event.id)
        assert found is not None
        assert found.item.acknowledged_by == ENHETSCHEF


async def test_P5_1_a_flagged_comment_goes_to_the_substitute_of_an_absent_administrator(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = await _account(n, ANNA, BERTIL)
        absence = _absence(n, account, ANNA, CECILIA)
        await _told(n, AdminAbsent.new("nora", absence.absence_id, absence))
        flagged = _flagged(account, due=n.clock.now + timedelta(hours=48))
        notes = _emails(await _told(n, flagged))
        assert set(notes) == {CECILIA.email, BERTIL.email}  # Anna is away
        assert {x.recipient.why for x in notes.values()} == {"on_duty"}
        mail = await _mail(n, CECILIA.email, "Kommentar att ta bort")
        body = _body(mail)
        assert flagged.data.comment_id in body
        assert f"{LINKS}/moderation/{flagged.data.comment_id}" in body  # its case's page
        assert "Senast: 2026-11-25 10:00" in body  # 09:00 UTC is 10:00 in Sweden


async def test_P5_8_an_escalation_tells_the_sakerhetssamordnare_at_once_even_in_quiet_hours(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    quiet = {"quiet_hours": {"start": "00:00", "end": "23:59"}}  # always quiet
    recipients = {SAKERHET: quiet, ANNA.email: quiet}
    async with notify(nats_url, mongodb_url, tmp_path, config={"recipients": recipients}) as n:
        account = await _account(n, ANNA)
        comment_id = f"facebook-{new_id()}"
        draft = PoliceReportDraft(
            account_name=account.data.name,
            platform="facebook",
            account_url=str(account.data.url),
            comment_url=f"https://www.facebook.com/{comment_id}",
            text="Hotfull text som aldrig ska stå i ett meddelande",
            author=Author(id="10001", name="Hotfull Avsändare"),
            written_at=n.clock.now,
            received_at=n.clock.now,
            archive_reference=comment_id,
            offence="olaga hot (BrB 4:5)",
        )
        data = ModerationEscalatedData(
            case_id=f"case-{comment_id}",
            comment_id=comment_id,
            account_id=account.data.account_id,
            category="threat",
            rules=["P5.8"],
            notify=[PersonRef(name="Säkerhetssamordnare", email=SAKERHET)],
            police_report=draft,
        )
        event = ModerationEscalated.new("nora", comment_id, data)
        (note,) = await _told(n, event)
        assert (note.address, note.status, note.urgent) == (SAKERHET, Status.PENDING, True)
        assert note.message.acknowledge_url
        found = await n.deps.store.escalations.repo.get(event.id)
        assert found is not None
        assert [[p.email for p in level] for level in found.item.levels] == [
            [SAKERHET],
            [FORVALTNINGSCHEF],  # then the department head (the superior manager)
        ]
        mail = await _mail(n, SAKERHET, "BRÅDSKANDE")
        body = _body(mail)
        assert f"{LINKS}/moderation/case-{comment_id}" in body
        assert "hot" in body
        for secret in ("Hotfull text", "Hotfull Avsändare", "olaga hot"):
            assert secret not in body
            assert secret not in str(mail)

        # A flagged comment to a recipient in quiet hours waits for their digest.
        (held,) = await _told(n, _flagged(account))
        assert (held.address, held.status) == (ANNA.email, Status.HELD)
        assert held.due_at > n.clock.now


async def test_P5_3_a_deadline_warning_tells_the_case_owners_and_a_breach_also_the_enhetschef(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = await _account(n, ANNA, BERTIL)
        warning = _deadline(n, account, CECILIA)
        notes = _emails(await _told(n, SlaWarning.new("nora", warning.case_id, warning)))
        assert set(notes) == {CECILIA.email}
        assert notes[CECILIA.email].recipient.why == "case_owners"
        await _mail(n, CECILIA.email, "Tidsfristen närmar sig")
        breach = _deadline(n, account, CECILIA)
        notes = _emails(await _told(n, SlaBreached.new("nora", breach.case_id, breach)))
        assert set(notes) == {CECILIA.email, ENHETSCHEF}
        assert notes[ENHETSCHEF].recipient.why == "unit_head"
        mail = await _mail(n, ENHETSCHEF, "Tidsfristen har passerats")
        assert f"{LINKS}/moderation/{breach.case_id}" in _body(mail)


async def test_P3_3_an_unsupervised_account_tells_its_administrators(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = await _account(n, ANNA)
        data = AccountUnsupervisedData(
            account_id=account.data.account_id,
            account_name=account.data.name,
            platform="facebook",
            waiting_since=n.clock.now - timedelta(hours=30),
            administrators=[ANNA],
        )
        notes = _emails(await _told(n, AccountUnsupervised.new("nora", account.subject, data)))
        assert set(notes) == {ANNA.email}
        assert notes[ANNA.email].recipient.why == "case_owners"
        mail = await _mail(n, ANNA.email, "Ingen har läst kommentarerna")
        assert "2026-11-22 04:00" in _body(mail)  # waiting since, in Swedish time


async def test_P5_4_a_forwarded_question_tells_the_case_officer(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    officer = PersonRef(name="Handläggare Bygglov", email="bygglov@nora.example")
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = await _account(n, ANNA)

        def decided(forwarded_to: PersonRef | None) -> ModerationDecided:
            comment_id = f"facebook-{new_id()}"
            data = ModerationDecidedData(
                case_id=f"case-{comment_id}",
                comment_id=comment_id,
                account_id=account.data.account_id,
                resolution="forward" if forwarded_to else "keep",
                rules=["P5.4"],
                reason="Frågan gäller bygglov",
                by=Actor(subject="cecilia", name="Cecilia"),
                at=n.clock.now,
                forwarded_to=forwarded_to,
            )
            return ModerationDecided.new("nora", comment_id, data)

        kept = decided(None)
        assert await _told(n, kept) == []  # a decision that forwards nothing tells nobody
        forwarded = decided(officer)
        notes = _emails(await _told(n, forwarded))
        assert set(notes) == {officer.email}
        assert notes[officer.email].recipient.why == "forwarded_to"
        body = _body(await _mail(n, officer.email, "En fråga till dig"))
        assert "Cecilia har skickat en fråga" in body
        assert "Frågan gäller bygglov" not in body  # the moderator's words stay in the case


# Exactly once, language, secrets, fallback, the kommun's own routes ---------------------


async def test_P5_1_an_event_delivered_twice_to_two_replicas_tells_each_recipient_once(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    database = f"kvtest_{new_id().lower()}"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with (
        notify(nats_url, mongodb_url, tmp_path / "a", mongodb_database=database) as one,
        notify(nats_url, mongodb_url, tmp_path / "b", mongodb_database=database) as two,
    ):
        account = await _account(one, ANNA, BERTIL)
        events = [_flagged(account) for _ in range(5)]
        # Each event published twice, past JetStream's de-duplication (another Msg-Id),
        # and the copies pulled by either replica.
        seqs = await asyncio.gather(
            *(_publish(one, e, f"{e.id}{copy}") for e in events for copy in ("", "-again"))
        )
        for event in events:
            notes = await _handled(two, event, max(seqs))
            assert sorted(x.address for x in notes) == [ANNA.email, BERTIL.email]

        async def all_sent() -> bool:
            found = await one.deps.store.notifications.repo.find({"status": "sent"})
            return len([x for x in found if x.item.event_type == "comment.flagged"]) == 10

        await one.until(all_sent, "every notification sent")
        mails = [m for r in (one, two) for m in r.mailbox.to(ANNA.email)]
        ids = [str(m["Message-ID"]) for m in mails]
        assert len(ids) == len(set(ids)) == 5  # each event's mail to Anna once


async def test_P5_1_a_recipient_configured_in_english_reads_english(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    recipients = {ANNA.email: {"language": "en"}}
    async with notify(nats_url, mongodb_url, tmp_path, config={"recipients": recipients}) as n:
        account = await _account(n, ANNA, BERTIL)
        notes = _emails(await _told(n, _flagged(account, action="answer")))
        assert notes[ANNA.email].recipient.language == "en"
        assert notes[BERTIL.email].recipient.language == "sv"
        english = await _mail(n, ANNA.email, "Comment to answer")
        assert "Open in Kanalvakt" in _body(english)
        assert english["Content-Language"] == "en"
        swedish = await _mail(n, BERTIL.email, "Kommentar att besvara")
        assert "Öppna i Kanalvakt" in _body(swedish)


async def test_L7_a_confidential_comment_is_named_by_its_record_id_only(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = await _account(n, ANNA)
        flagged = _flagged(
            account,
            action="review",
            categories=["confidential"],
            rules=["P7"],
            source="report",
            reason="Min granne Sven Svensson har cancer, ta bort det",
        )
        (note,) = await _told(n, flagged)
        mail = await _mail(n, ANNA.email, "Kommentar att granska")
        text = f"{_body(mail)}\n{mail.get_body(('html',))}\n{note.message}"
        assert flagged.data.comment_id in text
        assert "Sven Svensson" not in text
        assert "cancer" not in text


async def _waiting(n: Notify, event: Event) -> None:
    """`event` handled (its consumer settled it) and kept waiting for the directory,
    nobody told yet."""
    notes = await _told(n, event)
    assert notes == [], f"{event.nats_subject} routed before its account was known"
    found = await n.deps.store.waiting.repo.get(event.id)
    assert found is not None
    assert found.item.open


async def _notes_for(n: Notify, event: Event) -> list[Notification]:
    async def routed() -> bool:
        return bool(await n.deps.store.notifications.repo.find({"event_id": event.id}))

    await n.until(routed, f"{event.nats_subject} {event.id} routed")
    return [f.item for f in await n.deps.store.notifications.repo.find({"event_id": event.id})]


async def test_P3_3_a_comment_on_an_account_never_known_goes_to_the_informationsansvarig(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        never_created = _created(ANNA)  # its account.created is never published
        first = _flagged(never_created)
        await _waiting(n, first)  # the consumer is not held up meanwhile
        n.clock.advance(seconds=4)
        await asyncio.sleep(1.5)  # a pass of the waiting loop, still within the grace
        assert not await n.deps.store.notifications.repo.find({"event_id": first.id})
        n.clock.advance(seconds=2)  # the grace (5 s) is over
        notes = _emails(await _notes_for(n, first))
        assert set(notes) == {INFORMATIONSANSVARIG}
        assert notes[INFORMATIONSANSVARIG].recipient.why == "fallback:on_duty"
        body = _body(await _mail(n, INFORMATIONSANSVARIG, "Kommentar att ta bort"))
        assert "i stället för administratörerna i tjänst" in body
        assert "kontot är ännu okänt" in body
        found = await n.deps.store.waiting.repo.get(first.id)
        assert found is not None
        assert (found.item.open, found.item.routed_by, found.item.event) == (
            False,
            "fallback",
            "",  # the event's values are not kept once routed
        )
        stored = await n.deps.store.directory.accounts.get(never_created.data.account_id)
        assert stored is not None
        assert stored.item.missing_since == n.clock.now

        # Remembered as missing: the next comment goes to the fallback at once.
        second = _flagged(never_created)
        notes = _emails(await _told(n, second))
        assert set(notes) == {INFORMATIONSANSVARIG}
        assert await n.deps.store.waiting.repo.get(second.id) is None


async def test_P5_1_events_before_their_account_wait_for_it_and_go_to_its_administrators(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    """Review finding: the consumers of the event types run side by side, so an
    account's comment.flagged and account.approved may come before its account.created.
    They wait for it, without holding up their consumers, and go to the administrators
    the moment account.created reaches the directory (not after the grace)."""
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = _created(ANNA, BERTIL)
        flagged = _flagged(account)
        await _waiting(n, flagged)
        approved = AccountApproved.new(
            "nora",
            account.subject,
            AccountApprovedData.model_validate(_ref(account).model_dump() | {"signatures": []}),
            account.time + timedelta(days=1),  # newer than account.created
        )
        await _waiting(n, approved)  # the account is known, its administrators are not
        stored = await n.deps.store.directory.accounts.get(account.data.account_id)
        assert stored is not None
        assert stored.item.known
        assert stored.item.administrators == ()

        await _told(n, account)  # the clock stands still: no grace runs out
        for event, why in ((flagged, "on_duty"), (approved, "administrators")):
            notes = _emails(await _notes_for(n, event))
            assert set(notes) == {ANNA.email, BERTIL.email}, event.nats_subject
            assert {x.recipient.why for x in notes.values()} == {why}
            found = await n.deps.store.waiting.repo.get(event.id)
            assert found is not None
            assert found.item.routed_by == "directory"
        stored = await n.deps.store.directory.accounts.get(account.data.account_id)
        assert stored is not None
        assert [p.email for p in stored.item.administrators] == [ANNA.email, BERTIL.email]
        assert stored.item.details_as_of == approved.time


async def test_P3_3_a_flood_of_events_about_an_unknown_account_never_holds_up_the_consumer(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    """Review finding: routing waited up to 5 s inside the handler, one message at a
    time: 40 events about an account notify never saw (created before the stream's
    retention) took 200 s, past the ack wait. Now each is kept waiting at once."""
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        unknown = _created(ANNA)
        events = [_flagged(unknown) for _ in range(40)]
        loop = asyncio.get_running_loop()
        started = loop.time()
        seqs = [await _publish(n, e) for e in events]
        durable = "notify-comment-flagged"

        async def settled() -> bool:
            return await settled_through(n.js, EVENTS_STREAM, durable, max(seqs))

        await n.until(settled, "every comment.flagged handled")
        assert loop.time() - started < 15  # one 5 s wait each would be 200 s
        n.clock.advance(seconds=6)
        for event in events:
            notes = _emails(await _notes_for(n, event))
            assert set(notes) == {INFORMATIONSANSVARIG}
        assert await n.deps.store.waiting.open() == []


def _unattended(n: Notify, account: AccountCreated, at: Any) -> AccountUnattended:
    unit_head = PersonRef(name="Näringslivschef", email=ENHETSCHEF)
    department_head = PersonRef(name="Förvaltningschef KS", email=FORVALTNINGSCHEF)
    data = AccountUnattendedData.model_validate(
        _ref(account).model_dump()
        | {
            "since": at,
            "absent": [ANNA.model_dump()],
            "escalate_to": [
                EscalationTarget(level=1, role="enhetschef", person=unit_head).model_dump(),
                EscalationTarget(
                    level=2, role="förvaltningschef", person=department_head
                ).model_dump(),
            ],
        }
    )
    return AccountUnattended.new("nora", account.subject, data, at)


def _attended(account: AccountCreated, at: Any) -> AccountAttended:
    data = AccountAttendedData.model_validate(_ref(account).model_dump() | {"since": at})
    return AccountAttended.new("nora", account.subject, data, at)


async def test_P3_3_an_attended_account_closes_its_unattended_escalation_before_it_climbs(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = await _account(n, ANNA)
        unattended = _unattended(n, account, n.clock.now)
        assert [x.address for x in await _told(n, unattended)] == [ENHETSCHEF]
        n.clock.advance(minutes=10)
        assert await _told(n, _attended(account, n.clock.now)) == []  # not routed
        found = await n.deps.store.escalations.repo.get(unattended.id)
        assert found is not None
        assert found.item.acknowledged_by == "account.attended"
        assert found.item.acknowledged_at == n.clock.now
        n.clock.advance(minutes=120)
        assert await climb_due(n.deps, n.clock.now) == []  # never to the förvaltningschef
        notes = await n.deps.store.notifications.repo.find({"event_id": unattended.id})
        assert [x.item.address for x in notes] == [ENHETSCHEF]

        # The two consumers race: account.attended handled before the older
        # account.unattended closes its escalation as soon as it is made.
        other = await _account(n, ANNA)
        late = _unattended(n, other, n.clock.now - timedelta(minutes=5))
        await _told(n, _attended(other, n.clock.now))
        await _told(n, late)
        found = await n.deps.store.escalations.repo.get(late.id)
        assert found is not None
        assert found.item.acknowledged_by == "account.attended"
        # A newer unattended spell of the same account is not closed by the older one.
        again = _unattended(n, other, n.clock.now + timedelta(minutes=1))
        await _told(n, again)
        found = await n.deps.store.escalations.repo.get(again.id)
        assert found is not None
        assert not found.item.acknowledged


async def test_P3_3_the_kommuns_routes_decide_who_hears_and_which_webhooks(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    routes = {
        "comment.flagged": {"to": ["administrators", "administrators"], "webhooks": ["team"]},
        "account.created": {"to": ["contact:sakerhetssamordnare"]},
        "account.approved": None,  # routed nowhere; the rest as the default table
    }
    config = {
        "routes": routes,
        "webhooks": {"team": {"url": "http://127.0.0.1:9/team", "secret": "test"}},
        "recipients": {BERTIL.email: {"email": False, "webhook": "team"}},
    }
    async with notify(nats_url, mongodb_url, tmp_path, config=config) as n:
        account = _created(ANNA, BERTIL)
        notes = await _told(n, account)
        assert [x.address for x in notes] == [SAKERHET]
        notes = await _told(n, _flagged(account))
        assert sorted((x.channel.value, x.address) for x in notes) == [
            ("email", ANNA.email),  # named twice, told once
            ("webhook", "team"),  # Bertil's webhook is the team's: one post
        ]
        signed = [SignatureRef(role="department_head", name="x", signed_at=n.clock.now)]
        approved = AccountApproved.new(
            "nora",
            account.subject,
            AccountApprovedData.model_validate(
                _ref(account).model_dump() | {"signatures": [s.model_dump() for s in signed]}
            ),
        )
        assert await _told(n, approved) == []


async def test_P5_6_the_acknowledge_link_is_signed_for_its_recipient(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        account = await _account(n, ANNA)
        comment_id = f"facebook-{new_id()}"
        data = ModerationEscalatedData.model_validate(
            {
                "case_id": f"case-{comment_id}",
                "comment_id": comment_id,
                "account_id": account.data.account_id,
                "category": "threat",
                "rules": ["P5.8"],
                "notify": [{"name": "Säkerhetssamordnare", "email": SAKERHET}],
                "police_report": PoliceReportDraft(
                    account_name=account.data.name,
                    platform="facebook",
                    account_url=str(account.data.url),
                    comment_url="https://www.facebook.com/x",
                    text="-",
                    author=Author(id="1"),
                    written_at=n.clock.now,
                    received_at=n.clock.now,
                    archive_reference=comment_id,
                    offence="-",
                ).model_dump(),
            }
        )
        event = ModerationEscalated.new("nora", comment_id, data)
        (note,) = await _told(n, event)
        token = note.message.acknowledge_url.rsplit("/", 1)[1]
        assert read(ack_secret(n.deps.settings), token, n.clock.now) == (event.id, SAKERHET)

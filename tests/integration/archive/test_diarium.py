"""Registration in the diarium on real NATS and the store: confidential content registered
at once under a number in the kommun's format, sequential without gaps per year even with
two replicas; others kept in order, registered only by hand; minor ones never (P10.3,
P10.4, P10.7, L5, L7)."""

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.archive import metrics
from services.archive.domain.records import Record, fact_of
from services.archive.handlers import diarium
from services.archive.handlers.records import keep
from services.archive.handlers.verify import verify
from services.archive.store import ArchiveStore
from shared.events import CommentReceived, Event
from shared.personnummer import find_personnummer
from shared.service import Dependencies
from tests.integration.archive.harness import (
    COMMUNICATOR,
    MONDAY,
    REGISTRAR,
    Archive,
    Clock,
    archive,
    later,
)

SECRET_TEXT = "Hej, mitt personnummer är 19811218-9876, när får jag svar om bygglovet?"


def registered(record: dict[str, Any]) -> bool:
    return record.get("registration") is not None


async def entries(kept: Archive, **query: Any) -> list[dict[str, Any]]:
    answer = await kept.client.get("/diarium", params=query, headers=REGISTRAR)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


async def sent(kept: Archive, comment: CommentReceived) -> CommentReceived:
    await kept.publish(comment)
    return comment


async def sweep(kept: Archive) -> float:
    """The periodic step, once; the gauge of what still waits."""
    await diarium.register_waiting(kept.deps, kept.clock())
    gauge: float = metrics.AWAITING_REGISTRATION.labels("nora")._value.get()
    return gauge


async def kept_directly(deps: Dependencies[ArchiveStore], *events: Event) -> Record:
    """The events' facts kept as the handlers keep them, without the bus."""
    record: Record | None = None
    for event in events:
        record, _ = await keep(deps, fact_of(event, deps.kommun.archive.minor_importance))
    assert record is not None
    return record


async def test_P10_3_L7_a_confidential_comment_is_registered_at_once(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account("norakommun")
        comment = await sent(kept, kept.comment(account, SECRET_TEXT))
        await kept.publish(kept.confidential(comment, later(MONDAY, minutes=1)))

        record = await kept.kept(comment.subject, registered, "registered")

        assert record["registration"]["diary_number"] == "KS 2026/000001"
        [entry] = await entries(kept, number="KS 2026/000001")
        assert entry["record_id"] == comment.subject
        assert (entry["year"], entry["seq"], entry["id"]) == (2026, 1, "nora-2026-000001")
        assert (entry["sender"], entry["kind"], entry["origin"]) == (
            "Medborgare Ett",
            "comment",
            "inkommen",
        )
        assert entry["confidential"] is True
        assert entry["summary"] == (
            "Kommentar från allmänheten på Facebook-kontot norakommun, 2026-11-23, kan "
            "innehålla uppgifter som omfattas av sekretess (personnummer); dold på plattformen"
        )
        one = await kept.client.get(f"/diarium/{entry['id']}", headers=REGISTRAR)
        assert one.json() == entry

        [event] = await kept.events("record.registered", comment.subject)
        data = event["data"]
        assert data["diary_number"] == "KS 2026/000001"
        assert data["reason"] == "comment.confidential"
        assert data["summary"] == entry["summary"]
        raw = str(event)
        assert "bygglov" not in raw
        assert not find_personnummer(raw)
        assert await sweep(kept) == 0
        assert (await verify(kept.deps.store)).ok


async def test_P10_3_a_moderators_decision_that_it_is_confidential_registers_it(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = await sent(kept, kept.comment(account, "Min granne Anna har fått cancer"))
        await kept.kept(comment.subject)
        decided = kept.decided(
            comment, later(MONDAY, minutes=5), category="confidential", rules=["P7", "P10.3"]
        )
        await kept.publish(decided)

        record = await kept.kept(comment.subject, registered, "registered")

        [entry] = await entries(kept)
        assert record["registration"]["diary_number"] == entry["number"] == "KS 2026/000001"
        assert entry["reason"] == "moderation.decided"
        assert "enligt moderatorns beslut" in entry["summary"]
        assert "cancer" not in entry["summary"]
        assert len(await kept.events("record.registered", comment.subject)) == 1
        assert await sweep(kept) == 0


async def test_P10_3_confidential_before_its_comment_is_registered_once_its_sender_is_known(
    nats_url: str, mongodb_url: str
) -> None:
    """The two events come on separate consumers: the entry waits for the comment, so
    it names its sender; a comment that never comes is registered by the sweep."""
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = kept.comment(account, SECRET_TEXT)
        await kept.publish(kept.confidential(comment, later(MONDAY, minutes=1)))
        await kept.kept(comment.subject, lambda r: r["confidential"], "sealed first")
        await kept.publish(comment)

        record = await kept.kept(comment.subject, registered, "registered with its comment")

        assert record["registration"]["diary_number"] == "KS 2026/000001"
        [entry] = await entries(kept)
        assert entry["sender"] == "Medborgare Ett"
        assert SECRET_TEXT not in entry["summary"]
        assert len(await kept.events("record.registered", comment.subject)) == 1
        assert await sweep(kept) == 0

        lost = kept.comment(account, SECRET_TEXT)  # its comment.received never comes
        await kept.publish(kept.confidential(lost, later(MONDAY, minutes=2)))
        await kept.kept(lost.subject, lambda r: r["confidential"], "sealed")
        assert await sweep(kept) == 0
        record = await kept.kept(lost.subject, registered, "registered by the sweep")
        assert record["registration"]["diary_number"] == "KS 2026/000002"
        assert (await entries(kept))[0]["sender"] == "okänd avsändare"


async def test_P10_3_a_redelivered_confidential_is_one_entry(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = await sent(kept, kept.comment(account, SECRET_TEXT))
        confidential = kept.confidential(comment, later(MONDAY, minutes=1))
        await kept.publish(confidential)
        await kept.kept(comment.subject, registered, "registered")
        # The same event again, past JetStream's duplicate window (a new message id).
        await kept.js.publish(
            confidential.address,
            confidential.model_dump_json().encode(),
            headers={"Nats-Msg-Id": "again"},
        )
        await kept.publish(kept.edited(comment, "Redigerad", later(MONDAY, minutes=2)))
        await kept.kept(comment.subject, lambda r: len(r["versions"]) == 2, "the edit")
        # And once more by hand, as a replica that read the record before would.
        again = await kept.deps.store.records.get(comment.subject)
        assert again is not None
        await diarium.register(kept.deps, replace(again, registration=None), "again")

        assert len(await entries(kept)) == 1
        assert len(await kept.events("record.registered", comment.subject)) == 1
        facts = await kept.deps.store.chain.of_record(comment.subject)
        assert [e.event_id for e in facts].count(f"registered-{comment.subject}") == 1


async def test_P10_3_a_crash_between_the_entry_and_the_fact_is_mended(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = kept.comment(account, SECRET_TEXT)
        confidential = kept.confidential(comment, later(MONDAY, minutes=1))
        record = await kept_directly(kept.deps, comment, confidential)
        # The entry is taken, then the process dies before the fact is kept.
        entry, new = await diarium._entry(kept.deps, record, "comment.confidential")
        assert new
        assert await sweep(kept) == 0

        mended = await kept.deps.store.records.get(comment.subject)
        assert mended is not None
        assert mended.registration is not None
        assert mended.registration.diary_number == entry.number == "KS 2026/000001"
        assert len(await entries(kept)) == 1
        assert len(await kept.events("record.registered", comment.subject)) == 1


async def test_P10_3_the_sweep_registers_what_was_not_registered_at_once(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = kept.comment(account, "Anna har fått cancer")
        decided = kept.decided(comment, later(MONDAY, minutes=5), category="confidential")
        # Kept, and then the registration failed (the store went away, say).
        record = await kept_directly(kept.deps, comment, decided)
        assert record.awaits_registration

        assert await sweep(kept) == 0

        registered_now = await kept.record(comment.subject)
        assert registered_now["registration"]["diary_number"] == "KS 2026/000001"
        [event] = await kept.events("record.registered", comment.subject)
        assert event["data"]["reason"] == "moderation.decided"


async def test_P10_3_many_at_once_on_two_replicas_are_numbered_without_gaps(
    nats_url: str, mongodb_url: str
) -> None:
    many = 24
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        db = kept.deps.store.records.repo.collection.database
        replicas = [kept.deps, replace(kept.deps, store=ArchiveStore(db, "nora"))]
        records = []
        for i in range(many):
            comment = kept.comment(account, f"{SECRET_TEXT} ({i})")
            confidential = kept.confidential(comment, later(MONDAY, minutes=1))
            records.append(await kept_directly(replicas[i % 2], comment, confidential))

        done = await asyncio.gather(
            *(
                diarium.register(replicas[i % 2], record, "comment.confidential")
                for i, record in enumerate(records)
            )
        )

        found = await entries(kept, year=2026, limit=500)
        assert [e["seq"] for e in found] == list(range(many, 0, -1))  # newest first
        assert sorted(e["number"] for e in found) == [
            f"KS 2026/{seq:06d}" for seq in range(1, many + 1)
        ]
        by_record = {e["record_id"]: e["number"] for e in found}
        assert len(by_record) == many
        for record in done:
            assert record.registration is not None
            assert record.registration.diary_number == by_record[record.id]
        assert await sweep(kept) == 0
        assert (await verify(kept.deps.store)).ok


async def test_P10_3_the_numbers_start_again_at_1_when_the_swedish_year_turns(
    nats_url: str, mongodb_url: str
) -> None:
    clock = Clock(datetime(2026, 12, 31, 22, 0, tzinfo=UTC))  # 23:00 in Stockholm
    async with archive(nats_url, mongodb_url, clock) as kept:
        account = await kept.account()
        numbers = []
        for minutes in (0, 30, 60):  # the last at 00:30 on New Year's Day in Stockholm
            clock.now = later(datetime(2026, 12, 31, 22, 0, tzinfo=UTC), minutes=minutes)
            comment = await sent(kept, kept.comment(account, SECRET_TEXT))
            await kept.publish(kept.confidential(comment, clock.now))
            record = await kept.kept(comment.subject, registered, "registered")
            numbers.append(record["registration"]["diary_number"])

        assert numbers == ["KS 2026/000001", "KS 2026/000002", "KS 2027/000001"]
        assert [e["number"] for e in await entries(kept, year=2027)] == ["KS 2027/000001"]
        assert [e["number"] for e in await entries(kept)] == [
            "KS 2027/000001",
            "KS 2026/000002",
            "KS 2026/000001",
        ]


async def test_P10_7_P10_4_L5_minor_and_ordinary_records_are_not_registered(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        thumb = await sent(kept, kept.comment(account, "👍"))
        question = await sent(kept, kept.comment(account, "När öppnar badhuset?"))
        minor = await kept.kept(thumb.subject)
        await kept.kept(question.subject)
        assert minor["minor"] is True

        assert await sweep(kept) == 0
        assert await entries(kept) == []
        assert (await kept.record(question.subject))["registration"] is None
        by_hand = await kept.client.post(
            f"/records/{thumb.subject}/registration",
            json={"reason": "Begärd av registrator"},
            headers=REGISTRAR,
        )
        assert by_hand.status_code == 422, by_hand.text
        assert by_hand.json()["errors"][0]["rule"] == "P10.7"

        # L5: secret content is registered however minor the rest.
        secret = await sent(kept, kept.comment(account, "🙂"))
        await kept.publish(kept.confidential(secret, later(MONDAY, minutes=1)))
        record = await kept.kept(secret.subject, registered, "registered")
        assert record["minor"] is True
        assert [e["record_id"] for e in await entries(kept)] == [secret.subject]


async def test_P10_3_the_registrar_registers_a_record_by_hand(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = await sent(kept, kept.comment(account, "Jag vill överklaga beslutet."))
        await kept.kept(comment.subject)
        path = f"/records/{comment.subject}/registration"
        body = {"reason": "Överklagande, ska handläggas"}

        refused = await kept.client.post(path, json=body, headers=COMMUNICATOR)
        assert refused.status_code == 403
        assert (await kept.client.get("/diarium", headers=COMMUNICATOR)).status_code == 403
        no_reason = await kept.client.post(path, json={}, headers=REGISTRAR)
        assert no_reason.status_code == 422
        assert "reason" in no_reason.text
        blank = await kept.client.post(path, json={"reason": "  "}, headers=REGISTRAR)
        assert blank.status_code == 422
        with_pnr = {"reason": "Gäller 19811218-9876"}
        assert (await kept.client.post(path, json=with_pnr, headers=REGISTRAR)).status_code == 422
        unknown = await kept.client.post(
            "/records/facebook-nosuch/registration", json=body, headers=REGISTRAR
        )
        assert unknown.status_code == 404
        assert "record_id" in unknown.json()["detail"]

        made = await kept.client.post(path, json=body, headers=REGISTRAR)

        assert made.status_code == 201, made.text
        entry = made.json()
        assert (entry["number"], entry["confidential"]) == ("KS 2026/000001", False)
        assert entry["reason"] == "Överklagande, ska handläggas"
        record = await kept.record(comment.subject)
        assert record["registration"]["diary_number"] == "KS 2026/000001"
        [event] = await kept.events("record.registered", comment.subject)
        assert event["data"]["confidential"] is False
        again = await kept.client.post(path, json=body, headers=REGISTRAR)
        assert again.status_code == 409
        assert "KS 2026/000001" in again.text
        found = await kept.client.get(
            "/diarium",
            params={"account_id": account.data.account_id, "year": 2026},
            headers=REGISTRAR,
        )
        assert [e["id"] for e in found.json()] == [entry["id"]]
        missing = await kept.client.get("/diarium/nora-2026-999999", headers=REGISTRAR)
        assert missing.status_code == 404
        assert "entry_id" in missing.text
        too_many = await kept.client.get("/diarium", params={"limit": 501}, headers=REGISTRAR)
        assert too_many.status_code == 422

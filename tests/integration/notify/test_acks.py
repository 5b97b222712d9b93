"""Acknowledging escalations and the ladder, on real NATS, the store and a real SMTP
server (issue 11; P3.3, P5.6, P5.8): an unattended account's enhetschef is told, and the
förvaltningschef only if nobody acknowledges in time."""

import asyncio
import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.notify.domain.acks import ack_secret, sign
from services.notify.handlers.acks import climb_due
from shared.clock import SWEDEN
from shared.events import AccountUnattended, AccountUnattendedData, EscalationTarget, PersonRef
from shared.ids import new_id
from shared.principal import Role
from tests.integration.notify.harness import INFORMATION_OFFICER, Clock, Notify, notify
from tests.integration.registry.harness import headers

ENHETSCHEF = PersonRef(name="Näringslivschef", email="naringsliv@nora.example")
FORVALTNINGSCHEF = PersonRef(name="Förvaltningschef KS", email="fc.ks@nora.example")
ADMIN = PersonRef(name="Anna Andersson", email="anna.andersson@nora.example")
SECURITY = headers("sakerhet", Role.SECURITY_COORDINATOR)
COMMUNICATOR = headers("kommunikator", Role.COMMUNICATOR)
JSON = {"Accept": "application/json"}
# Past the reference kommun's acknowledge_within_minutes (60).
LATE = timedelta(minutes=61)


def _unattended(n: Notify, name: str = "noranaringsliv") -> AccountUnattended:
    account_id = new_id()
    data = AccountUnattendedData(
        account_id=account_id,
        name=name,
        platform="facebook",
        url=f"https://www.facebook.com/{name}",  # type: ignore[arg-type]
        department="Kommunstyrelseförvaltningen",
        unit="Näringsliv",
        since=n.clock.now,
        absent=[ADMIN],
        escalate_to=[
            EscalationTarget(level=1, role="enhetschef", person=ENHETSCHEF),
            EscalationTarget(level=2, role="förvaltningschef", person=FORVALTNINGSCHEF),
        ],
    )
    return AccountUnattended.new("nora", account_id, data, n.clock.now)


async def _log(n: Notify, **params: Any) -> list[dict[str, Any]]:
    answer = await n.client.get("/notifications", params=params, headers=INFORMATION_OFFICER)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


async def _told(n: Notify, event: AccountUnattended, level: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def made() -> bool:
        found[:] = await _log(n, event_id=event.id, level=level)
        return bool(found)

    await n.until(made, f"level {level} of {event.id} told")
    return found


async def _token(n: Notify, notification_id: str) -> str:
    """The acknowledge link's token, as the message carries it."""
    found = await n.deps.store.notifications.repo.get(notification_id)
    assert found is not None
    url = found.item.message.acknowledge_url
    assert "/acknowledge/" in url, url
    return url.rsplit("/acknowledge/", 1)[1]


def _text(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def _gauge(name: str, event_type: str = "account.unattended") -> float | None:
    return REGISTRY.get_sample_value(name, {"kommun": "nora", "event": event_type})


UNACKNOWLEDGED = "kanalvakt_notify_escalations_unacknowledged"
AGE = "kanalvakt_notify_escalation_unacknowledged_oldest_age_seconds"


async def test_issue_11_P5_6_unacknowledged_unattended_account_escalates_to_forvaltningschef(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        event = await n.publish(_unattended(n))
        [first] = await _told(n, event, 1)
        assert (first["recipient_email"], first["why"]) == (ENHETSCHEF.email, "escalation:1")
        assert first["escalation_id"] == event.id
        [mail] = await n.mail_to(ENHETSCHEF.email, about=event.id)
        body = _text(mail)
        assert re.search(r"/acknowledge/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", body), body

        # Not yet late: nothing climbs.
        n.clock.advance(minutes=59)
        assert await climb_due(n.deps, n.clock.now) == []
        assert await _log(n, event_id=event.id, level=2) == []

        n.clock.advance(minutes=2)
        assert await climb_due(n.deps, n.clock.now) == [(event.id, 2)]
        [second] = await _told(n, event, 2)
        assert second["recipient_email"] == FORVALTNINGSCHEF.email
        assert second["recipient_name"] == FORVALTNINGSCHEF.name
        assert second["why"] == "escalation:2"
        assert second["escalation_id"] == event.id
        await n.mail_to(FORVALTNINGSCHEF.email, about=event.id)
        # The förvaltningschef's own link acknowledges as them.
        token = await _token(n, second["id"])
        answer = await n.client.get(f"/acknowledge/{token}", headers=JSON)
        assert answer.json()["state"] == "last_level"

        # The top of the ladder: nothing further to tell, however long it waits.
        n.clock.advance(hours=5)
        assert await climb_due(n.deps, n.clock.now) == []
        assert len(await _log(n, event_id=event.id)) == 2
        assert _gauge(UNACKNOWLEDGED) == 1
        age = _gauge(AGE)
        assert age is not None
        assert abs(age - (5 * 3600 + 61 * 60)) < 5  # opened when the event came

        # Staff see it open, with who each level tells (P5.6, P5.8).
        listed = await n.client.get("/escalations", params={"open": "true"}, headers=SECURITY)
        assert listed.status_code == 200, listed.text
        [shown] = [e for e in listed.json() if e["id"] == event.id]
        assert (shown["state"], shown["level"]) == ("last_level", 2)
        assert [[p["email"] for p in level] for level in shown["levels"]] == [
            [ENHETSCHEF.email],
            [FORVALTNINGSCHEF.email],
        ]
        refused = await n.client.get("/escalations", headers=COMMUNICATOR)
        assert refused.status_code == 403


async def test_issue_11_P5_6_enhetschef_acknowledges_by_link_and_forvaltningschef_is_never_told(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        event = await n.publish(_unattended(n))
        [first] = await _told(n, event, 1)
        token = await _token(n, first["id"])
        await n.mail_to(ENHETSCHEF.email, about=event.id)
        assert token in _text(n.mailbox.to(ENHETSCHEF.email, event.id)[0])

        # Showing the page acknowledges nothing: mail scanners fetch links.
        page = await n.client.get(f"/acknowledge/{token}")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<form method="post">' in page.text
        assert "Kvittera" in page.text
        assert "Acknowledge" in page.text
        assert "noranaringsliv" in page.text
        found = await n.deps.store.escalations.repo.get(event.id)
        assert found is not None
        assert found.item.acknowledged_at is None

        n.clock.advance(minutes=10)
        done = await n.client.post(f"/acknowledge/{token}")
        assert done.status_code == 200
        assert "Tack, larmet är kvitterat" in done.text
        assert ENHETSCHEF.email in done.text
        found = await n.deps.store.escalations.repo.get(event.id)
        assert found is not None
        assert found.item.acknowledged_by == ENHETSCHEF.email
        assert found.item.acknowledged_at == n.clock.now

        # Clicking again, or someone else's link later: the first acknowledgement stands.
        again = await n.client.post(f"/acknowledge/{token}", headers=JSON)
        assert again.status_code == 200
        assert again.json()["by_this_link"] is True
        expires = n.clock.now + timedelta(hours=1)
        other = sign(ack_secret(n.deps.settings), event.id, FORVALTNINGSCHEF.email, expires)
        late = await n.client.post(f"/acknowledge/{other}", headers=JSON)
        assert late.json()["by_this_link"] is False
        assert late.json()["escalation"]["acknowledged_by_this_link"] is False
        assert late.json()["escalation"]["state"] == "acknowledged"
        assert ENHETSCHEF.email not in late.text  # who else was told is not the link's

        n.clock.advance(minutes=120)
        assert await climb_due(n.deps, n.clock.now) == []
        assert await _log(n, event_id=event.id, level=2) == []
        await asyncio.sleep(0.6)  # three delivery passes: nothing to send the förvaltningschef
        assert n.mailbox.to(FORVALTNINGSCHEF.email, event.id) == []
        assert _gauge(UNACKNOWLEDGED) == 0
        assert _gauge(AGE) == 0
        listed = await n.client.get("/escalations", params={"open": "true"}, headers=SECURITY)
        assert event.id not in [e["id"] for e in listed.json()]


async def test_issue_11_P5_6_bad_links_are_refused_readably_never_500(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        event = await n.publish(_unattended(n))
        [first] = await _told(n, event, 1)
        token = await _token(n, first["id"])
        payload, mac = token.split(".")
        secret = ack_secret(n.deps.settings)
        expired = sign(secret, event.id, ENHETSCHEF.email, n.clock.now - timedelta(minutes=1))
        unknown = sign(secret, new_id(), ENHETSCHEF.email, n.clock.now + timedelta(hours=1))
        cases = {
            f"{payload}.{mac[::-1]}": 403,  # forged: the signature does not match
            sign(b"not the key", event.id, ENHETSCHEF.email, n.clock.now + LATE): 403,
            expired: 410,
            "not-a-token": 422,
            "a.b.c": 422,
            "%C3%A5.%C3%A4": 422,
            unknown: 404,
        }
        for bad, status in cases.items():
            for method in ("GET", "POST"):
                answer = await n.client.request(method, f"/acknowledge/{bad}", headers=JSON)
                assert answer.status_code == status, (bad, method, answer.text)
                if status != 404:
                    [error] = answer.json()["errors"]
                    assert (error["field"], error["rule"]) == ("token", "P5.6")
                    assert error["message"]["sv"]
                    assert error["message"]["en"]
                else:
                    assert "token" in answer.json()["detail"]
                page = await n.client.request(method, f"/acknowledge/{bad}")
                assert page.status_code == status
                assert page.headers["content-type"].startswith("text/html")
                assert "Länken fungerar inte" in page.text
                assert "The link does not work" in page.text
                assert "token" in page.text
                assert "P5.6" in page.text
        found = await n.deps.store.escalations.repo.get(event.id)
        assert found is not None
        assert found.item.acknowledged_at is None


async def test_issue_11_P5_6_two_climbers_at_once_tell_the_next_level_once(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        events = [await n.publish(_unattended(n, f"konto{i}")) for i in range(3)]
        for event in events:
            await _told(n, event, 1)
        n.clock.advance(minutes=61)
        told = await asyncio.gather(*(climb_due(n.deps, n.clock.now) for _ in range(3)))
        assert sorted(t for climber in told for t in climber) == sorted((e.id, 2) for e in events)
        for event in events:
            assert len(await _log(n, event_id=event.id, level=2)) == 1
        await n.mail_to(FORVALTNINGSCHEF.email, 3)
        await asyncio.sleep(0.6)  # a second copy would have been sent by now
        assert len(n.mailbox.to(FORVALTNINGSCHEF.email)) == 3
        assert _gauge(UNACKNOWLEDGED) == 3


def _quiet_for(clock: Clock, email: str, hours: float) -> dict[str, Any]:
    """Configuration giving `email` quiet hours from a minute ago until `hours` from now
    (Swedish wall-clock time), and when they end."""
    local = clock.now.astimezone(SWEDEN)
    start = (local - timedelta(minutes=1)).strftime("%H:%M")
    end = (local + timedelta(hours=hours)).strftime("%H:%M")
    return {"recipients": {email: {"quiet_hours": {"start": start, "end": end}}}}


async def test_P5_6_a_held_level_is_not_told_once_the_escalation_is_acknowledged(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    clock = Clock()
    # The förvaltningschef's quiet hours begin before level 2 is due, so it is held.
    local = clock.now.astimezone(SWEDEN)
    start = (local + timedelta(minutes=30)).strftime("%H:%M")
    end = (local + timedelta(hours=3)).strftime("%H:%M")
    quiet = {"quiet_hours": {"start": start, "end": end}}
    config = {"recipients": {FORVALTNINGSCHEF.email: quiet}}
    async with notify(nats_url, mongodb_url, tmp_path, clock, config=config) as n:
        event = await n.publish(_unattended(n))
        [first] = await _told(n, event, 1)
        await n.mail_to(ENHETSCHEF.email, about=event.id)
        n.clock.advance(minutes=LATE.total_seconds() / 60)
        assert await climb_due(n.deps, n.clock.now) == [(event.id, 2)]
        [second] = await _told(n, event, 2)
        assert second["status"] == "held"
        token = await _token(n, first["id"])
        answer = await n.client.post(f"/acknowledge/{token}", headers=JSON)
        assert answer.json()["by_this_link"] is True

        n.clock.advance(hours=3)  # the förvaltningschef's quiet hours are over
        await n.until(lambda: _log(n, event_id=event.id, status="cancelled"), "level 2 cancelled")
        [cancelled] = await _log(n, event_id=event.id, status="cancelled")
        assert (cancelled["id"], cancelled["level"]) == (second["id"], 2)
        assert cancelled["sent_at"] is None
        await asyncio.sleep(0.6)  # three more delivery passes
        assert n.mailbox.to(FORVALTNINGSCHEF.email, event.id) == []
        [told] = await _log(n, event_id=event.id, level=1)
        assert told["status"] == "sent"


async def test_P5_6_acknowledged_while_the_ladder_climbs_cancels_the_level_just_made(
    nats_url: str, mongodb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    config = _quiet_for(clock, FORVALTNINGSCHEF.email, hours=4)  # level 2 would be held
    async with notify(nats_url, mongodb_url, tmp_path, clock, config=config) as n:
        event = await n.publish(_unattended(n))
        [first] = await _told(n, event, 1)
        token = await _token(n, first["id"])
        await n.mail_to(ENHETSCHEF.email, about=event.id)
        n.clock.advance(minutes=LATE.total_seconds() / 60)
        uow = n.deps.uow
        real = uow.apply

        climbing = [True]

        async def acknowledged_first(repo: Any, found: Any, decide: Any, **kw: Any) -> Any:
            # The enhetschef acknowledges between the climber's read and its save.
            if repo is n.deps.store.escalations.repo and climbing:
                climbing.clear()
                answer = await n.client.post(f"/acknowledge/{token}", headers=JSON)
                assert answer.json()["by_this_link"] is True
            return await real(repo, found, decide, **kw)

        monkeypatch.setattr(uow, "apply", acknowledged_first)
        assert await climb_due(n.deps, n.clock.now) == []
        monkeypatch.undo()
        [second] = await _log(n, event_id=event.id, level=2)
        assert second["status"] == "cancelled"
        found = await n.deps.store.escalations.repo.get(event.id)
        assert found is not None
        assert (found.item.level, found.item.acknowledged_by) == (1, ENHETSCHEF.email)
        n.clock.advance(hours=5)
        await asyncio.sleep(0.6)
        assert n.mailbox.to(FORVALTNINGSCHEF.email, event.id) == []


async def test_P5_6_P5_1_the_ladder_waits_for_a_quiet_enhetschef_to_be_told(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    clock = Clock()
    config = _quiet_for(clock, ENHETSCHEF.email, hours=3)
    async with notify(nats_url, mongodb_url, tmp_path, clock, config=config) as n:
        event = await n.publish(_unattended(n))
        [first] = await _told(n, event, 1)
        assert first["status"] == "held"
        # An hour after the alert the enhetschef has not even been told: no climbing.
        n.clock.advance(minutes=LATE.total_seconds() / 60)
        assert await climb_due(n.deps, n.clock.now) == []
        found = await n.deps.store.escalations.repo.get(event.id)
        assert found is not None
        told_at = found.item.next_level_at
        assert told_at is not None
        # Told when the quiet hours end (their digest), then given their hour.
        within = timedelta(minutes=n.deps.kommun.notify.acknowledge_within_minutes)
        n.clock.now = told_at - within
        assert n.clock.now.isoformat() == first["due_at"].replace("Z", "+00:00")
        await n.mail_to(ENHETSCHEF.email)  # a digest: it names no one event
        assert await climb_due(n.deps, n.clock.now) == []
        n.clock.now = told_at
        assert await climb_due(n.deps, n.clock.now) == [(event.id, 2)]
        await n.mail_to(FORVALTNINGSCHEF.email)


async def test_P5_6_an_acknowledge_link_shows_its_holder_nobody_else(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        event = await n.publish(_unattended(n))
        [first] = await _told(n, event, 1)
        token = await _token(n, first["id"])
        shown = await n.client.get(f"/acknowledge/{token}", headers=JSON)
        assert shown.status_code == 200, shown.text
        assert shown.json() == {
            "event_type": "account.unattended",
            "about": "noranaringsliv",
            "opened_at": shown.json()["opened_at"],
            "state": "open",
            "acknowledged_at": None,
            "acknowledged_by_this_link": False,
            "issued_to": ENHETSCHEF.email,
        }
        assert FORVALTNINGSCHEF.email not in shown.text
        assert FORVALTNINGSCHEF.name not in shown.text

        # Acknowledged by the förvaltningschef's link: the enhetschef's shows when, not who.
        expires = n.clock.now + timedelta(hours=1)
        other = sign(ack_secret(n.deps.settings), event.id, FORVALTNINGSCHEF.email, expires)
        done = await n.client.post(f"/acknowledge/{other}", headers=JSON)
        assert done.json()["by_this_link"] is True
        assert ENHETSCHEF.email not in done.text
        for headers in (JSON, {}):
            again = await n.client.get(f"/acknowledge/{token}", headers=headers)
            assert again.status_code == 200
            assert FORVALTNINGSCHEF.email not in again.text
            assert FORVALTNINGSCHEF.name not in again.text
        shown = await n.client.get(f"/acknowledge/{token}", headers=JSON)
        assert shown.json()["state"] == "acknowledged"
        assert shown.json()["acknowledged_at"] is not None
        assert shown.json()["acknowledged_by_this_link"] is False

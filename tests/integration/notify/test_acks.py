"""Acknowledging escalations and the ladder, on real NATS, the store and a real SMTP
server (issue 11; P3.3, P5.6, P5.8): an unattended account's enhetschef is told, and the
förvaltningschef only if nobody acknowledges in time."""

import asyncio
import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

from services.notify.domain.acks import ack_secret, sign
from services.notify.handlers.acks import climb_due
from shared.events import AccountUnattended, AccountUnattendedData, EscalationTarget, PersonRef
from shared.ids import new_id
from shared.principal import Role
from tests.integration.notify.harness import INFORMATION_OFFICER, Notify, notify
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
        [mail] = await n.mail_to(ENHETSCHEF.email)
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
        await n.mail_to(FORVALTNINGSCHEF.email)
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
        await n.mail_to(ENHETSCHEF.email)
        assert token in _text(n.mailbox.to(ENHETSCHEF.email)[0])

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
        assert late.json()["escalation"]["acknowledged_by"] == ENHETSCHEF.email
        assert late.json()["escalation"]["state"] == "acknowledged"

        n.clock.advance(minutes=120)
        assert await climb_due(n.deps, n.clock.now) == []
        assert await _log(n, event_id=event.id, level=2) == []
        await asyncio.sleep(0.6)  # three delivery passes: nothing to send the förvaltningschef
        assert n.mailbox.to(FORVALTNINGSCHEF.email) == []
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

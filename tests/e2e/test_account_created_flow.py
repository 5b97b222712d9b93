"""Issue 2's proof: `kanalvakt up` on real parts, one event through all four services.

POST a registration to the registry → `account.created` on JetStream → the archive keeps
a record, notify records a notification, moderation watches the account; the same event
delivered twice changes nothing; a malformed event lands on `dlq.account.created.nora` with a
reason and the services keep working; Ctrl-C stops everything cleanly.
"""

import email
import email.policy
import json
import signal
import socket
from email.message import EmailMessage

import httpx
import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.bus.streams import DLQ_STREAM, EVENTS_STREAM
from shared.ids import new_id
from shared.principal import Role
from tests.e2e.conftest import System
from tests.helpers import eventually, plan_json

CONSUMERS = ("moderation-account-created", "archive-account-created", "notify-account-created")
Counts = dict[str, float]


async def _submit(client: httpx.AsyncClient, system: System, name: str) -> dict[str, str]:
    answer = await client.post(
        f"{system.urls['registry']}/accounts",
        json=plan_json(handle=name, url=f"https://www.facebook.com/{name}"),
        headers=system.headers(Role.COMMUNICATOR),
    )
    assert answer.status_code == 201, answer.text
    account: dict[str, str] = answer.json()
    return account


async def _get(
    client: httpx.AsyncClient, url: str, params: dict[str, str], headers: dict[str, str]
) -> list[dict[str, str]]:
    answer = await client.get(url, params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, str]] = answer.json()
    return found


async def _records(
    client: httpx.AsyncClient, system: System, account_id: str
) -> list[dict[str, str]]:
    url, who = f"{system.urls['archive']}/records", system.headers(Role.ARCHIVIST)
    return await _get(client, url, {"account_id": account_id}, who)


async def _notifications(
    client: httpx.AsyncClient, system: System, event_id: str
) -> list[dict[str, str]]:
    url, who = f"{system.urls['notify']}/notifications", system.headers(Role.INFORMATION_OFFICER)
    return await _get(client, url, {"event_id": event_id}, who)


async def _all_settled(js: nats.js.JetStreamContext) -> bool:
    for durable in CONSUMERS:
        info = await js.consumer_info(EVENTS_STREAM, durable)
        if info.num_pending or info.num_ack_pending:
            return False
    return True


async def test_one_event_through_all_four_services(system: System) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        account = await _submit(client, system, "norakommunnaringsliv")

        async def archived() -> bool:
            return len(await _records(client, system, account["id"])) == 1

        await eventually(archived, what="archive keeps the plan")
        record = (await _records(client, system, account["id"]))[0]
        assert record["origin"] == "upprättad"
        assert (record["kind"], record["id"]) == ("account", f"account-{account['id']}")
        nc = await nats.connect(system.nats_url)
        try:
            created = await nc.jetstream().get_last_msg(EVENTS_STREAM, "account.created.nora")
        finally:
            await nc.close()
        event_id = json.loads(created.data)["id"]

        # account.created tells the department head and the informationsansvarig (P2.1,
        # P3.6): the informationsansvarig's copy is the one this flow proves.
        async def notified() -> bool:
            notes = await _notifications(client, system, event_id)
            return any(n["recipient_role"] == "informationsansvarig" for n in notes)

        await eventually(notified, what="notify records a notification")
        notes = await _notifications(client, system, event_id)
        [note] = [n for n in notes if n["recipient_role"] == "informationsansvarig"]
        assert note["language"] == "sv"
        assert "norakommunnaringsliv" in note["subject"]

        # ... and the e-mail reaches `up`'s local mail sink (a Maildir).
        def mailed() -> list[EmailMessage]:
            assert system.maildir is not None
            found = []
            for path in system.maildir.glob("new/*"):
                message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                if note["recipient_email"] in str(message["To"]):
                    found.append(message)
            return found

        async def in_sink() -> bool:
            return bool(mailed())

        await eventually(in_sink, what="the e-mail in the mail sink")
        [mail] = mailed()
        assert mail["Subject"] == note["subject"]
        assert mail["Message-ID"]

        async def watched() -> bool:
            answer = await client.get(
                f"{system.urls['moderation']}/accounts/{account['id']}",
                headers=system.headers(Role.COMMUNICATOR),
            )
            return answer.status_code == 200 and answer.json()["removal_hours"] == 48

        await eventually(watched, what="moderation watches the account")

        # The same event delivered twice: past JetStream's de-duplication, to every consumer.
        nc = await nats.connect(system.nats_url)
        try:
            js = nc.jetstream()
            original = await js.get_last_msg(EVENTS_STREAM, "account.created.nora")
            assert json.loads(original.data)["id"] == event_id
            await eventually(lambda: _all_settled(js), what="the first delivery handled")
            told = len(await _notifications(client, system, event_id))
            resent = await js.publish(
                "account.created.nora",
                original.data,
                headers={"Nats-Msg-Id": f"resend-{event_id}"},
            )
            assert not resent.duplicate
            await eventually(lambda: _all_settled(js), what="redelivery acknowledged")
            assert len(await _records(client, system, account["id"])) == 1
            assert len(await _notifications(client, system, event_id)) == told

            # A malformed account.created: dead-lettered by each consumer, with a reason.
            marker = new_id()
            malformed = json.dumps(
                {
                    "specversion": "1.0",
                    "id": marker,
                    "type": "se.kanalvakt.account.created.v1",
                    "source": "/somewhere",
                    "subject": "x",
                    "data": {"platform": "myspace"},
                }
            ).encode()
            await js.publish("account.created.nora", malformed, headers={"Nats-Msg-Id": marker})

            async def dead_lettered() -> list[object]:
                sub = await js.pull_subscribe("dlq.account.created.nora", stream=DLQ_STREAM)
                try:
                    msgs = await sub.fetch(100, timeout=1)
                except TimeoutError:
                    msgs = []
                await sub.unsubscribe()
                return [m for m in msgs if m.data == malformed]

            async def all_dead_lettered() -> bool:
                return len(await dead_lettered()) == len(CONSUMERS)

            await eventually(all_dead_lettered, what="malformed event dead-lettered by all")
            for letter in await dead_lettered():
                reason = letter.headers["Kanalvakt-Dlq-Reason"]  # type: ignore[attr-defined]
                assert "data.account_id" in reason
                assert "data.platform" in reason
            await eventually(lambda: _all_settled(js), what="malformed event terminated")
        finally:
            await nc.close()

        # The services keep working.
        later = await _submit(client, system, "norakommunkultur")

        async def later_archived() -> bool:
            return len(await _records(client, system, later["id"])) == 1

        await eventually(later_archived, what="a later account is archived")
        for name, url in system.urls.items():
            ready = await client.get(f"{url}/readyz")
            assert ready.status_code == 200, f"{name} not ready after the malformed event"

        # Each consumer counted what happened to every account.created it was given: two
        # plans handled, the re-sent copy a duplicate, the malformed one dead-lettered.
        # The registry consumes nothing, so it counts nothing. (A retry is no fault here:
        # nothing is lost by one, so `retried` is not compared.)
        expected = {"handled": 2.0, "duplicate": 1.0, "dead_lettered": 1.0}
        for name, url in system.urls.items():
            want = {} if name == "registry" else expected

            async def counted(name: str = name, url: str = url, want: Counts = want) -> bool:
                return await _outcomes(client, name, url) == want

            await eventually(counted, what=f"{name} counts {want or 'no events'}")


async def _outcomes(client: httpx.AsyncClient, name: str, url: str) -> Counts:
    """A service's `kanalvakt_events_total` by outcome (but `retried`); every sample must
    be its own account.created consumer's."""
    found: Counts = {}
    text = (await client.get(f"{url}/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name != "kanalvakt_events_total":
                continue
            assert sample.labels["consumer"] == f"{name}-account-created", sample
            assert sample.labels["subject"] == "account.created.nora", sample
            if sample.labels["outcome"] != "retried":
                found[sample.labels["outcome"]] = sample.value
    return found


def test_ctrl_c_stops_everything_cleanly(system: System) -> None:
    system.proc.send_signal(signal.SIGINT)
    assert system.proc.wait(60) == 0
    for url in system.urls.values():
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz", timeout=1)
    nats_port = int(system.nats_url.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", nats_port), timeout=1).close()

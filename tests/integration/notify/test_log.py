"""The delivery log, searchable through the API (issue 11): who was told what, when,
how, with what result; on real NATS, the store and a real SMTP server."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from shared.events import AccountCreated, AccountUnattended
from shared.principal import Role
from tests.helpers import account_created
from tests.integration.notify.harness import INFORMATION_OFFICER, OPERATIONS, Notify, notify
from tests.integration.notify.test_acks import ENHETSCHEF, FORVALTNINGSCHEF, _unattended
from tests.integration.registry.harness import headers

KOMMUNCHEF = "kommunchef@nora.example"  # the reference kommun's informationsansvarig
COMMUNICATOR = headers("kommunikator", Role.COMMUNICATOR)
# The informationsansvarig reads nothing non-urgent all day: theirs is held for a digest.
QUIET = {"recipients": {KOMMUNCHEF: {"quiet_hours": {"start": "00:00", "end": "23:59"}}}}


async def _search(n: Notify, who: dict[str, str] = INFORMATION_OFFICER, **params: Any) -> Any:
    answer = await n.client.get("/notifications", params=params, headers=who)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _two_events(n: Notify) -> tuple[AccountCreated, AccountUnattended, datetime]:
    """An account created (department head and informationsansvarig told), then ten
    minutes later one unattended (its enhetschef told); both delivered or held."""
    created = account_created()
    created = AccountCreated.new("nora", created.subject, created.data, n.clock.now)
    await n.publish(created)
    await n.until(
        lambda: _count(n, event_id=created.id, want=2), "account.created: two people told"
    )
    later = n.clock.advance(minutes=10)
    unattended = await n.publish(_unattended(n))
    await n.until(lambda: _count(n, event_id=unattended.id, want=1), "the enhetschef told")
    await n.mail_to(ENHETSCHEF.email)
    await n.mail_to(FORVALTNINGSCHEF.email)  # the account's department head
    await n.until(lambda: _count(n, status="sent", want=2), "two sent")
    return created, unattended, later


async def _count(n: Notify, want: int, **params: Any) -> bool:
    return len(await _search(n, **params)) == want


def _emails(items: list[dict[str, Any]]) -> list[str]:
    return [i["recipient_email"] for i in items]


async def test_issue_11_delivery_log_searchable_by_recipient_type_status_and_time(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path, config=QUIET) as n:
        created, unattended, later = await _two_events(n)

        everything = await _search(n)
        assert len(everything) == 3
        assert everything[0]["event_id"] == unattended.id  # newest first
        assert sorted(_emails(everything[1:])) == sorted([FORVALTNINGSCHEF.email, KOMMUNCHEF])

        # By recipient: e-mail or name, exactly.
        by_email = await _search(n, recipient=FORVALTNINGSCHEF.email)
        assert [(i["event_id"], i["why"]) for i in by_email] == [(created.id, "department_head")]
        by_name = await _search(n, recipient="Kommunchef")
        assert _emails(by_name) == [KOMMUNCHEF]
        assert by_name[0]["recipient_role"] == "informationsansvarig"
        assert await _search(n, recipient="kommunche") == []

        # By event type, status, channel, level.
        assert _emails(await _search(n, event_type="account.unattended")) == [ENHETSCHEF.email]
        assert _emails(await _search(n, status="held")) == [KOMMUNCHEF]
        assert sorted(_emails(await _search(n, status="sent"))) == sorted(
            [ENHETSCHEF.email, FORVALTNINGSCHEF.email]
        )
        assert len(await _search(n, channel="email")) == 3
        assert await _search(n, channel="webhook") == []
        assert len(await _search(n, level=1)) == 3
        assert await _search(n, level=2) == []
        both = await _search(n, event_type="account.created", status="sent")
        assert _emails(both) == [FORVALTNINGSCHEF.email]

        # By time (created_at): since is inclusive, until exclusive.
        assert _emails(await _search(n, since=later.isoformat())) == [ENHETSCHEF.email]
        before = await _search(n, until=later.isoformat())
        assert {i["event_id"] for i in before} == {created.id}
        window = {"since": (later - timedelta(minutes=20)).isoformat(), "until": later.isoformat()}
        assert len(await _search(n, **window)) == 2

        # Each item: who, what, when, how, result.
        [sent] = await _search(n, event_type="account.unattended")
        assert sent["recipient_name"] == ENHETSCHEF.name
        assert (sent["language"], sent["why"]) == ("sv", "escalation:1")
        assert "noranaringsliv" in sent["subject"]
        assert sent["created_at"].startswith(later.isoformat()[:16])
        assert sent["sent_at"] is not None
        assert (sent["channel"], sent["address"]) == ("email", ENHETSCHEF.email)
        assert (sent["status"], sent["attempt_count"]) == ("sent", 1)
        assert sent["last_attempt"]["ok"] is True
        assert sent["last_attempt"]["detail"]
        assert sent["kommun"] == "nora"
        assert "acknowledge" not in str(sent)  # the link's token is not the log's to show

        one = await n.client.get(f"/notifications/{sent['id']}", headers=OPERATIONS)
        assert one.status_code == 200, one.text
        assert [a["ok"] for a in one.json()["attempts"]] == [True]
        assert one.json()["recipient_email"] == ENHETSCHEF.email
        missing = await n.client.get("/notifications/nope", headers=OPERATIONS)
        assert missing.status_code == 404
        assert "notification_id" in missing.json()["detail"]


async def test_issue_11_delivery_log_comes_in_pages_newest_first(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path, config=QUIET) as n:
        await _two_events(n)
        everything = await _search(n)
        seen: list[str] = []
        url: str | None = "/notifications?limit=1"
        while url is not None:
            answer = await n.client.get(url, headers=INFORMATION_OFFICER)
            assert answer.status_code == 200, answer.text
            seen += [i["id"] for i in answer.json()]
            link = answer.headers.get("link")
            url = httpx.URL(link.split(";")[0].strip("<>")).raw_path.decode() if link else None
            assert len(seen) <= 4
        # A full last page has a link to an empty one; the ids in order, each once.
        assert seen == [i["id"] for i in everything]
        bad = await n.client.get(
            "/notifications", params={"before": "not-a-cursor"}, headers=INFORMATION_OFFICER
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "before"


async def test_issue_11_delivery_log_for_its_readers_only_and_bad_queries_422(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with notify(nats_url, mongodb_url, tmp_path) as n:
        refused = await n.client.get("/notifications", headers=COMMUNICATOR)
        assert refused.status_code == 403
        refused = await n.client.get("/notifications/x", headers=COMMUNICATOR)
        assert refused.status_code == 403
        assert (await n.client.get("/notifications")).status_code == 401
        assert await _search(n, who=OPERATIONS) == []

        for params, field in [
            ({"channel": "fax"}, "channel"),
            ({"status": "lost"}, "status"),
            ({"since": "2026-11-23T09:00:00"}, "since"),  # no time zone
            ({"until": "yesterday"}, "until"),
            ({"level": "0"}, "level"),
            ({"limit": "501"}, "limit"),
            ({"recipient": ""}, "recipient"),
            (
                {"since": "2026-11-23T10:00:00+01:00", "until": "2026-11-23T09:00:00+01:00"},
                "until",
            ),
        ]:
            answer = await n.client.get("/notifications", params=params, headers=OPERATIONS)
            assert answer.status_code == 422, (params, answer.text)
            [error] = answer.json()["errors"]
            assert error["field"].split(".")[-1] == field, error
            assert error["message"]["sv"]
            assert error["message"]["en"]

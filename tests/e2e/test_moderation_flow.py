"""Issue 9's proof on real parts (`kanalvakt up`): a Facebook comment arrives as Meta
sends it, signed; moderation reads it against the policy, opens a case, a moderator
removes it, and the archive's event (`comment.removed`) is on JetStream. The author's edit
in between makes the archive's record (issue 10) show both versions, the removal and the
decision behind it (P5.2, L4, L6). A badly signed call is refused and changes nothing.

The kommun's file comes from the test's own `config/` (the reference kommun with a Page
id mapped to the account), and the Meta app secret from the environment, as an operator
would set them.
"""

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import yaml

from shared.bus.streams import EVENTS_STREAM
from shared.ids import new_id
from shared.principal import Role
from tests.e2e.conftest import System, _run_system
from tests.helpers import REFERENCE, eventually, plan_json, read_to_end

APP_SECRET = "e2e-meta-app-secret"
PAGE_ID = "104857600123"
HANDLE = f"norakommun{new_id().lower()[-8:]}"


@pytest.fixture(scope="module")
def meta_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    home: Path = tmp_path_factory.mktemp("kanalvakt-meta")
    config = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    config["moderation"] = {"meta_pages": {PAGE_ID: HANDLE}}
    (home / "config").mkdir()
    (home / "config" / "nora.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    yield from _run_system(home / "data", home, {"META_APP_SECRET": APP_SECRET})


def _signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def _feed(comment_id: str, message: str, verb: str = "add", time: int = 1795000000) -> bytes:
    change = {
        "field": "feed",
        "value": {
            "item": "comment",
            "verb": verb,
            "comment_id": comment_id,
            "post_id": f"{PAGE_ID}_987",
            "parent_id": f"{PAGE_ID}_987",
            "from": {"id": "5550001", "name": "Arg Medborgare"},
            "message": message,
            "created_time": 1795000000,
        },
    }
    entry = {"id": PAGE_ID, "time": time, "changes": [change]}
    return json.dumps({"object": "page", "entry": [entry]}).encode()


async def test_p5_8_a_signed_meta_comment_is_classified_decided_and_archived(
    meta_system: System,
) -> None:
    system = meta_system
    moderation = system.urls["moderation"]
    async with httpx.AsyncClient(timeout=10) as client:
        plan = plan_json(handle=HANDLE, url=f"https://www.facebook.com/{HANDLE}")
        answer = await client.post(
            f"{system.urls['registry']}/accounts",
            json=plan,
            headers=system.headers(Role.COMMUNICATOR),
        )
        assert answer.status_code == 201, answer.text
        account_id = answer.json()["id"]
        staff = system.headers(Role.COMMUNICATOR, sub="cecilia")

        async def watched() -> bool:
            found = await client.get(f"{moderation}/accounts/{account_id}", headers=staff)
            return found.status_code == 200

        await eventually(watched, within=30, what="moderation watches the account")

        # Meta's verification handshake needs the verify token, which is not set here.
        refused = await client.get(
            f"{moderation}/webhooks/meta/nora",
            params={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "42"},
        )
        assert refused.status_code == 403

        threat = "Jag ska döda dig, jag vet var du bor."
        body = _feed(f"987_{new_id().lower()}", threat)
        forged = await client.post(
            f"{moderation}/webhooks/meta/nora", content=body, headers=_signed(body, "wrong")
        )
        assert forged.status_code == 401
        unsigned = await client.post(f"{moderation}/webhooks/meta/nora", content=body)
        assert unsigned.status_code == 401

        comment_id = f"987_{new_id().lower()}"
        body = _feed(comment_id, threat)
        taken = await client.post(
            f"{moderation}/webhooks/meta/nora", content=body, headers=_signed(body)
        )
        assert taken.status_code == 200, taken.text
        assert taken.json() == {"taken": 1, "dead_lettered": 0}
        again = await client.post(
            f"{moderation}/webhooks/meta/nora", content=body, headers=_signed(body)
        )
        assert again.status_code == 200  # Meta's retry: the same comment, once

        case_id = f"facebook-{comment_id}"

        async def opened() -> bool:
            found = await client.get(f"{moderation}/cases/{case_id}", headers=staff)
            return found.status_code == 200

        await eventually(opened, within=30, what="a case for the threat")
        # The author edits it before anyone acts: the archive keeps both versions (L4).
        edit = _feed(comment_id, "Jag menade inget.", verb="edited", time=1795000600)
        edited = await client.post(
            f"{moderation}/webhooks/meta/nora", content=edit, headers=_signed(edit)
        )
        assert edited.status_code == 200, edited.text
        case = (await client.get(f"{moderation}/cases/{case_id}", headers=staff)).json()
        assert (case["label"], case["category"], case["escalated"]) == ("remove", "threat", True)

        decided = await client.post(
            f"{moderation}/cases/{case_id}/decision",
            json={"resolution": "remove", "category": "threat", "reason": "Olaga hot (P5.8)"},
            headers=staff,
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["state"] == "by_hand"  # no Page token: to do by hand

        forged_never_came = await client.get(
            f"{moderation}/accounts/{account_id}/comments", headers=staff
        )
        assert [c["id"] for c in forged_never_came.json()] == [case_id]

        # P5.2, L6: removed from the platform, kept in the archive with its history.
        archivist = system.headers(Role.ARCHIVIST)
        record: dict[str, Any] = {}

        async def kept_removed() -> bool:
            nonlocal record
            found = await client.get(
                f"{system.urls['archive']}/records/{case_id}", headers=archivist
            )
            record = found.json() if found.status_code == 200 else {}
            # The removal, the decision behind it and the escalation reach the archive
            # on consumers of their own (comment.removed, moderation.decided/escalated).
            removed = any(s["state"] == "removed" for s in record.get("states", []))
            return removed and bool(record.get("decisions")) and bool(record.get("escalated"))

        await eventually(kept_removed, within=30, what="the archive keeps the removal")
        assert [v["text"] for v in record["versions"]] == [threat, "Jag menade inget."]
        assert [s["state"] for s in record["states"]] == ["published", "edited", "removed"]
        assert (record["origin"], record["author"]["kind"]) == ("inkommen", "public")
        assert record["decisions"][0]["category"] == "threat"
        assert record["escalated"] is True

    nc = await nats.connect(system.nats_url)
    try:
        js = nc.jetstream()

        async def archived() -> bool:
            found = await read_to_end(js, "comment.removed.nora", EVENTS_STREAM)
            return any(case_id.encode() in m.data for m in found)

        await eventually(archived, within=30, what="comment.removed for the archive")
        received = await read_to_end(js, "comment.received.nora", EVENTS_STREAM)
        assert sum(case_id.encode() in m.data for m in received) == 1
    finally:
        await nc.close()

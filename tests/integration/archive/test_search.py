"""Requests for public records: search by every filter and by words of any version,
masking for everyone but the registrar, marks, exports with the chain's hashes, and the
access log (L4, L7, P10.6)."""

import csv
import io
import json
from typing import Any

import pytest
from pypdf import PdfReader

from services.archive.store import search as search_store
from shared.principal import Role
from tests.integration.archive.harness import (
    ARCHIVIST,
    COMMUNICATOR,
    MONDAY,
    REGISTRAR,
    Archive,
    archive,
    later,
)
from tests.integration.registry.harness import headers

INFORMATION_OFFICER = headers("info", Role.INFORMATION_OFFICER)
PERSONNUMMER = "19811218-9876"  # valid check digit


async def found(
    kept: Archive, who: dict[str, str] = ARCHIVIST, **params: Any
) -> list[dict[str, Any]]:
    answer = await kept.client.get("/records/search", params=params, headers=who)
    assert answer.status_code == 200, answer.text
    result: list[dict[str, Any]] = answer.json()
    return result


def ids(records: list[dict[str, Any]]) -> set[str]:
    return {r["id"] for r in records}


async def test_L4_P10_6_search_by_each_filter(nats_url: str, mongodb_url: str) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        other = await kept.account()
        acc = account.data.account_id
        comment = await kept.publish(kept.comment(account, "Varför är vägen inte plogad?"))
        kept.clock.now = later(MONDAY, days=3)
        post = await kept.publish(kept.post(account, "Plogningen börjar klockan sex."))
        elsewhere = await kept.publish(kept.comment(other, "Snö på skolgården"))
        kept.clock.now = MONDAY
        await kept.kept(comment.subject)
        await kept.kept(post.subject)
        await kept.kept(elsewhere.subject)
        await kept.publish(kept.removed(comment, later(MONDAY, hours=1)))
        await kept.kept(comment.subject, lambda r: len(r["states"]) == 2)

        assert ids(await found(kept, account_id=acc)) == {
            comment.subject,
            post.subject,
            f"account-{acc}",
        }
        assert ids(await found(kept, account_id=acc, author_kind="public")) == {comment.subject}
        assert ids(await found(kept, account_id=acc, origin="upprättad", kind="post")) == {
            post.subject
        }
        assert ids(await found(kept, kind="comment", state="removed")) == {comment.subject}
        assert ids(await found(kept, kind="account", account_id=acc)) == {f"account-{acc}"}
        window = {
            "since": later(MONDAY, days=2).isoformat(),
            "until": later(MONDAY, days=4).isoformat(),
        }
        # The account's own record is dated by its plan's event, whenever that was sent.
        dated = ids(await found(kept, account_id=acc, **window)) - {f"account-{acc}"}
        assert dated == {post.subject}
        assert ids(await found(kept, q="PLOGAD vägen")) == {comment.subject}
        assert ids(await found(kept, q="snö")) == {elsewhere.subject}  # not "sno", not "snön"


async def test_L4_a_word_only_in_an_earlier_version_is_found(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = kept.comment(account, "Ni är korrupta allihop")
        await kept.publish(comment)
        await kept.publish(kept.edited(comment, "Ni borde se över detta", later(MONDAY, minutes=5)))
        await kept.kept(comment.subject, lambda r: len(r["versions"]) == 2)

        assert ids(await found(kept, q="korrupta")) == {comment.subject}
        assert ids(await found(kept, q="korrupta över")) == {comment.subject}
        assert await found(kept, q="korrupta plogning") == []


async def test_L4_pages_follow_the_next_link_without_loss(
    nats_url: str, mongodb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        made = []
        for i in range(5):
            kept.clock.now = later(MONDAY, minutes=i % 2)  # ties in time: the id decides
            made.append(await kept.publish(kept.comment(account, f"Fråga nummer {i}")))
        for c in made:
            await kept.kept(c.subject)
        seen: list[str] = []
        url: str | None = (
            f"/records/search?account_id={account.data.account_id}&kind=comment&limit=2"
        )
        while url:
            answer = await kept.client.get(url, headers=ARCHIVIST)
            assert answer.status_code == 200, answer.text
            seen += [r["id"] for r in answer.json()]
            link = answer.headers.get("Link")
            url = link[1 : link.index(">")] if link else None
        assert sorted(seen) == sorted(c.subject for c in made)
        assert len(seen) == 5
        # An export reads its ids in slices too: none lost at the seams.
        monkeypatch.setattr(search_store, "ID_SLICE", 2)
        exported = json.loads(
            await _exported(kept, "json", account_id=account.data.account_id, kind="comment")
        )
        assert [r["id"] for r in exported] == seen


async def test_L7_archivist_sees_a_personnummer_masked_the_registrar_sees_it(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = await kept.publish(kept.comment(account, f"Mitt nummer är {PERSONNUMMER} hjälp"))
        await kept.kept(comment.subject)

        seen = await found(kept, q="hjälp")
        assert seen[0]["versions"][0]["text"] == "Mitt nummer är [personnummer] hjälp"
        registrar = await found(kept, REGISTRAR, q="hjälp")
        assert PERSONNUMMER in registrar[0]["versions"][0]["text"]
        assert await found(kept, q="19811218") == []  # never a word (L7)


async def test_L7_P10_3_a_sealed_record_shows_no_text_to_the_archivist(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = kept.comment(account, "Min dotter har diagnosen X på skolan")
        await kept.publish(comment)
        await kept.publish(kept.confidential(comment, later(MONDAY, minutes=1)))
        await kept.kept(comment.subject, lambda r: r["confidential"])

        seen = await found(kept, account_id=account.data.account_id, kind="comment")
        assert seen[0]["versions"][0]["text"].startswith("[sekretess – ")
        assert "diagnosen" not in json.dumps(seen)
        assert await found(kept, q="diagnosen") == []  # its words are not the archivist's
        registrar = await found(kept, REGISTRAR, q="diagnosen")
        assert registrar[0]["versions"][0]["text"] == "Min dotter har diagnosen X på skolan"


async def test_L7_a_registrar_marks_a_passage_validated_and_masked(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = await kept.publish(kept.comment(account, "Grannen Anna Svensson på Storgatan 3"))
        await kept.kept(comment.subject)
        url = f"/records/{comment.subject}/marks"
        good = {"version": 1, "start": 8, "end": 21, "reason": "OSL 26 kap. 1 §"}

        for bad, field in (
            ({**good, "version": 2}, "version"),
            ({**good, "end": 99}, "end"),
            ({**good, "start": 40, "end": 41}, "start"),
            ({**good, "reason": "  "}, "reason"),
            ({**good, "reason": ""}, "reason"),
        ):
            answer = await kept.client.post(url, json=bad, headers=REGISTRAR)
            assert answer.status_code == 422, answer.text
            assert answer.json()["errors"][0]["field"] == field, answer.text
        assert (await kept.client.post(url, json=good, headers=ARCHIVIST)).status_code == 403
        assert (
            await kept.client.post("/records/nope/marks", json=good, headers=REGISTRAR)
        ).status_code == 404

        answer = await kept.client.post(url, json=good, headers=REGISTRAR)
        assert answer.status_code == 201, answer.text
        assert answer.json()["marks"][0]["by"] == "registrator"

        seen = await found(kept, account_id=account.data.account_id, kind="comment")
        assert seen[0]["versions"][0]["text"] == "Grannen [sekretess] på Storgatan 3"
        assert await found(kept, q="svensson") == []
        registrar = await found(kept, REGISTRAR, q="svensson")
        assert registrar[0]["versions"][0]["text"] == "Grannen Anna Svensson på Storgatan 3"
        entries = await kept.deps.store.chain.of_record(comment.subject)
        assert [e.fact.kind.value for e in entries if e.fact] == ["written", "marked"]


async def test_L4_readers_only_a_communicator_gets_403(nats_url: str, mongodb_url: str) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        for path in ("/records/search", "/records/export", "/access-log"):
            answer = await kept.client.get(path, headers=COMMUNICATOR)
            assert answer.status_code == 403, path
        assert (
            await kept.client.get("/records/search", headers=INFORMATION_OFFICER)
        ).status_code == 200
        assert (
            await kept.client.get("/access-log", headers=INFORMATION_OFFICER)
        ).status_code == 403


async def test_L4_bad_filters_are_422_naming_the_field(nats_url: str, mongodb_url: str) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        for params, field in (
            ({"q": "!!!"}, "q"),
            ({"since": "2026-01-01T00:00:00"}, "since"),
            ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
            ({"state": "gone"}, "state"),
            ({"after": "nonsense"}, "after"),
            ({"limit": "501"}, "limit"),
        ):
            answer = await kept.client.get("/records/search", params=params, headers=ARCHIVIST)
            assert answer.status_code == 422, (params, answer.text)
            assert field in answer.json()["errors"][0]["field"], answer.text


async def _exported(
    kept: Archive, fmt: str, who: dict[str, str] = ARCHIVIST, **params: Any
) -> bytes:
    answer = await kept.client.get("/records/export", params={"format": fmt, **params}, headers=who)
    assert answer.status_code == 200, answer.text
    return answer.content


async def test_L4_export_json_csv_pdf_with_chain_hashes_masked(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = kept.comment(account, f"Ring mig på {PERSONNUMMER}, tack")
        await kept.publish(comment)
        await kept.publish(kept.edited(comment, "Ring mig, tack", later(MONDAY, minutes=2)))
        await kept.kept(comment.subject, lambda r: len(r["versions"]) == 2)
        params = {"account_id": account.data.account_id, "kind": "comment"}

        listed = json.loads(await _exported(kept, "json", **params))
        assert [r["id"] for r in listed] == [comment.subject]
        item = listed[0]
        assert [v["text"] for v in item["versions"]] == [
            "Ring mig på [personnummer], tack",
            "Ring mig, tack",
        ]
        entries = await kept.deps.store.chain.of_record(comment.subject)
        assert [h["hash"] for h in item["hashes"]] == [e.hash for e in entries]
        assert [h["content_sha256"] for h in item["hashes"]] == [e.content_sha256 for e in entries]
        registrar = json.loads(await _exported(kept, "json", REGISTRAR, **params))
        assert PERSONNUMMER in registrar[0]["versions"][0]["text"]

        rows = list(csv.reader(io.StringIO((await _exported(kept, "csv", **params)).decode())))
        assert rows[0][:3] == ["record_id", "kind", "account_id"]
        assert [r[8] for r in rows[1:]] == ["Ring mig på [personnummer], tack", "Ring mig, tack"]
        assert entries[0].hash in rows[1][-1]

        pdf = await _exported(kept, "pdf", **params)
        assert pdf.startswith(b"%PDF")
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) >= 1
        text = "".join(page.extract_text() for page in reader.pages)
        assert comment.subject in text
        assert PERSONNUMMER not in text


async def test_L4_every_search_and_export_is_in_the_access_log(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        await found(kept, account_id=account.data.account_id, q="plogning")
        kept.clock.advance(seconds=1)
        await _exported(kept, "csv", INFORMATION_OFFICER, kind="post")
        kept.clock.advance(seconds=1)
        await found(kept, REGISTRAR, state="removed")

        answer = await kept.client.get("/access-log", headers=ARCHIVIST)
        assert answer.status_code == 200, answer.text
        log = answer.json()
        assert [(e["action"], e["subject"]) for e in log[:3]] == [
            ("search", "registrator"),
            ("export", "info"),
            ("search", "arkivarie"),
        ]
        assert log[1]["format"] == "csv"
        assert log[1]["roles"] == ["information_officer"]
        assert log[1]["filters"] == {"kind": "post"}
        assert log[2]["filters"] == {"account_id": account.data.account_id, "words": ["plogning"]}
        assert log[2]["count"] == 0

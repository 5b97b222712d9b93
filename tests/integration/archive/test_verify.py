"""Any later change to a stored record is detected (P3.7b, L6): `kanalvakt archive verify`
exits non-zero naming the first broken link, and the periodic check's metric counts it."""

import asyncio
import copy
from typing import Any

import pytest

from kanalvakt.cli import main
from services.archive import metrics
from services.archive.domain import chain
from services.archive.handlers import verify as verify_module
from services.archive.handlers.verify import _verify_kommun, verify
from tests.helpers import REFERENCE
from tests.integration.archive.harness import MONDAY, Archive, archive, later


async def _three_facts(kept: Archive) -> tuple[str, str]:
    """An account with a comment, its edit and its removal: (account id, comment id)."""
    account = await kept.account()
    comment = kept.comment(account, "Första versionen")
    await kept.publish(comment)
    await kept.publish(kept.edited(comment, "Andra versionen", later(MONDAY, minutes=1)))
    await kept.publish(kept.removed(comment, later(MONDAY, minutes=2)))
    await kept.kept(comment.subject, lambda r: len(r["states"]) == 3)
    return account.data.account_id, comment.subject


def _cli(kept: Archive, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, str]:
    settings = kept.deps.settings
    monkeypatch.setenv("MONGODB_URL", settings.mongodb_url)
    monkeypatch.setenv("MONGODB_DATABASE", settings.database_name)
    monkeypatch.setenv("KOMMUN_CONFIG", str(REFERENCE))
    code = main(["archive", "verify", "--no-progress"])
    return code, capsys.readouterr().out


async def test_P3_7b_L6_verify_holds_for_an_untouched_archive_and_fails_on_a_changed_fact(
    nats_url: str, mongodb_url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account_id, _ = await _three_facts(kept)
        code, out = await asyncio.to_thread(_cli, kept, monkeypatch, capsys)
        assert code == 0, out
        assert "nora: intact (1 accounts, 4 entries, 2 records)" in out

        entries = kept.deps.store.chain.collection
        [edit] = [
            doc
            async for doc in entries.find({"account_id": account_id})
            if doc["fact"]["event_type"] == "comment.edited"
        ]
        edit["fact"]["data"]["text"] = "Något helt annat"  # a forger's change in the store
        await entries.replace_one({"_id": edit["_id"]}, edit)

        code, out = await asyncio.to_thread(_cli, kept, monkeypatch, capsys)
        assert code == 1
        assert f"account {account_id}: first broken link {edit['_id']}: content changed" in out


async def test_P3_7b_verify_names_a_changed_record_a_deleted_entry_and_a_rewritten_chain(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account_id, comment_id = await _three_facts(kept)
        store = kept.deps.store
        records, entries = store.records.repo.collection, store.chain.collection

        record = await records.find_one({"_id": comment_id})
        assert record is not None
        original = copy.deepcopy(record)
        record["versions"][0]["text"] = "Förfalskad"
        await records.replace_one({"_id": comment_id}, record)
        [(_, broken)] = (await verify(store)).broken
        assert (broken.entry, "versions" in broken.reason) == (f"record {comment_id}", True)
        await records.replace_one({"_id": comment_id}, original)
        assert (await verify(store)).ok

        # Rewriting a fact together with its content hash still breaks the link's hash.
        doc = await entries.find_one({"account_id": account_id, "seq": 2})
        assert doc is not None
        entry = store.chain.mapper.from_document(doc)
        assert entry.fact is not None
        forged_fact = entry.fact.__class__(**{**entry.fact.__dict__, "data": {"text": "x"}})
        doc["fact"]["data"] = {"text": "x"}
        doc["content_sha256"] = chain.content_hash(forged_fact)
        await entries.replace_one({"_id": doc["_id"]}, doc)
        [(_, broken)] = (await verify(store)).broken
        assert (broken.entry, broken.reason) == (
            doc["_id"],
            "link changed: its hash no longer matches",
        )

        await entries.delete_one({"_id": doc["_id"]})
        [(_, broken)] = (await verify(store)).broken
        assert "gap" in broken.reason


async def test_P3_7b_the_periodic_check_exports_the_failures(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account_id, _ = await _three_facts(kept)
        await _verify_kommun(kept.deps, kept.clock.now)
        failures = metrics.VERIFY_FAILURES.labels("nora")
        assert failures._value.get() == 0
        assert metrics.RECORDS.labels("nora", "comment", "removed")._value.get() >= 1

        entries = kept.deps.store.chain.collection
        await entries.delete_one({"account_id": account_id, "seq": 1})
        await _verify_kommun(kept.deps, kept.clock.now)
        assert failures._value.get() == 1


async def test_P3_7b_P10_2_the_periodic_check_verifies_even_when_finishing_a_cull_fails(
    nats_url: str, mongodb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account_id, _ = await _three_facts(kept)
        await kept.deps.store.chain.collection.delete_one({"account_id": account_id, "seq": 1})

        async def fails(_: Any) -> int:
            raise ConnectionError("the store went away while finishing a cull")

        monkeypatch.setattr(verify_module, "finish_unfinished", fails)
        kept.clock.advance(minutes=1)

        await _verify_kommun(kept.deps, kept.clock.now)  # logged, not raised

        assert metrics.VERIFY_FAILURES.labels("nora")._value.get() == 1
        verified = metrics.VERIFIED_AT.labels("nora")._value.get()
        assert verified == kept.clock.now.timestamp()

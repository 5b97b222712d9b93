"""A chain cut short at its end is found (P3.7b, L6): deleting an account's last entries
together with their records leaves what remains linking, but each account's head anchor
names the place and hash its chain reached, and `kanalvakt archive verify` exits 1 naming
the first missing entry."""

import asyncio
from typing import Any

import pytest

from kanalvakt.cli import main
from services.archive.domain.chain import entry_id
from services.archive.handlers.verify import verify
from tests.helpers import REFERENCE
from tests.integration.archive.harness import Archive, archive


def _cli(kept: Archive, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> tuple[int, str]:
    settings = kept.deps.settings
    monkeypatch.setenv("MONGODB_URL", settings.mongodb_url)
    monkeypatch.setenv("MONGODB_DATABASE", settings.database_name)
    monkeypatch.setenv("KOMMUN_CONFIG", str(REFERENCE))
    code = main(["archive", "verify", "--no-progress"])
    return code, capsys.readouterr().out


async def test_P3_7b_L6_a_chain_cut_short_at_its_end_fails_verify_naming_the_first_missing_entry(
    nats_url: str, mongodb_url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        store = kept.deps.store
        account = await kept.account()
        account_id = account.data.account_id
        comments = []
        for text in ("Första frågan", "Andra frågan", "Tredje frågan"):
            comments.append(await kept.publish(kept.comment(account, text)))
            await kept.kept(comments[-1].subject)
        anchor = await store.chain.anchor(account_id)
        head = await store.chain.head(account_id)
        assert anchor is not None
        assert head is not None
        assert (anchor.seq, anchor.hash) == (4, head.hash)
        code, out = await asyncio.to_thread(_cli, kept, monkeypatch, capsys)
        assert code == 0, out

        # The last two comments removed with their entries: what remains still links.
        for comment in comments[1:]:
            await store.chain.collection.delete_many({"record_id": comment.subject})
            await store.records.repo.collection.delete_one({"_id": comment.subject})
        [(broken_account, broken)] = (await verify(store)).broken

        missing = entry_id("nora", account_id, 3)
        assert (broken_account, broken.entry) == (account_id, missing)
        assert "the chain ends at sequence 2 but its head anchor names sequence 4" in broken.reason
        code, out = await asyncio.to_thread(_cli, kept, monkeypatch, capsys)
        assert code == 1
        assert f"account {account_id}: first broken link {missing}: missing" in out

        # The whole chain gone, records and all: the anchor still names the account.
        await store.chain.collection.delete_many({"account_id": account_id})
        await store.records.repo.collection.delete_many({"account_id": account_id})
        [(broken_account, broken)] = (await verify(store)).broken
        assert (broken_account, broken.entry) == (account_id, entry_id("nora", account_id, 1))


async def test_P3_7b_L6_an_anchor_only_moves_forward_and_a_redelivered_fact_repairs_a_lag(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        store = kept.deps.store
        account = await kept.account()
        account_id = account.data.account_id
        comment = await kept.publish(kept.comment(account, "En fråga"))
        await kept.kept(comment.subject)
        [entry] = await store.chain.of_record(comment.subject)
        # A crash between the entry and its anchor: the anchor lags one behind.
        await store.chain.heads.update_one(
            {"_id": f"nora:{account_id}"}, {"$set": {"seq": 1, "hash": entry.prev}}
        )
        assert (await verify(store)).ok  # the chain may run past its anchor

        # The event redelivered finds its entry and moves the anchor on; never back.
        assert entry.fact is not None
        await store.chain.keep(entry.fact, kept.clock.now)
        anchor = await store.chain.anchor(account_id)
        assert anchor is not None
        assert (anchor.seq, anchor.hash) == (entry.seq, entry.hash)
        first = await store.chain.by_event(account.id)
        assert first is not None
        assert first.fact is not None
        await store.chain.keep(first.fact, kept.clock.now)
        anchor = await store.chain.anchor(account_id)
        assert anchor is not None
        assert anchor.seq == entry.seq

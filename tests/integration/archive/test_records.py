"""Every post and comment kept as a public record, every version, its author kind and
origin, its platform states apart from the record (P3.7b, P5.2, P10.4, P10.6, L4, L6)."""

from typing import Any

import pytest

from services.archive.domain.records import PlatformState, fact_of
from services.archive.handlers.records import Culled, keep
from services.archive.handlers.verify import verify
from tests.integration.archive.harness import ARCHIVIST, MONDAY, REGISTRAR, Clock, archive, later


async def test_L4_P10_6_a_comment_and_a_post_kept_with_origin_and_author_kind(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = await kept.publish(kept.comment(account, "Varför är vägen inte plogad?"))
        post = await kept.publish(kept.post(account, "Plogningen börjar klockan sex."))

        visitor = await kept.kept(comment.subject)
        own = await kept.kept(post.subject)

        assert (visitor["kind"], visitor["origin"]) == ("comment", "inkommen")
        assert visitor["author"]["kind"] == "public"
        assert visitor["origin_at"] == MONDAY.isoformat().replace("+00:00", "Z")
        assert (own["kind"], own["origin"]) == ("post", "upprättad")
        assert own["author"]["kind"] == "kommun"
        assert [v["text"] for v in visitor["versions"]] == ["Varför är vägen inte plogad?"]
        assert [s["state"] for s in visitor["states"]] == ["published"]


async def test_L6_P5_2_removed_and_edited_comment_keeps_every_version_and_state(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = kept.comment(account, "Första texten")
        await kept.publish(comment)
        await kept.publish(kept.edited(comment, "Andra texten, värre", later(MONDAY, minutes=5)))
        await kept.publish(kept.decided(comment, later(MONDAY, minutes=30)))
        await kept.publish(kept.removed(comment, later(MONDAY, minutes=31)))

        record = await kept.kept(comment.subject, lambda r: len(r["states"]) == 3)

        assert [v["text"] for v in record["versions"]] == ["Första texten", "Andra texten, värre"]
        assert [s["state"] for s in record["states"]] == ["published", "edited", "removed"]
        assert record["states"][-1]["category"] == "personal_attack"
        assert record["decisions"][0]["rules"] == ["P5.9"]


async def test_L4_an_edit_and_a_deletion_before_their_comment_end_the_history_right(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        comment = kept.comment(account, "Originalet")
        # The platform's later events arrive first.
        await kept.publish(kept.deleted(comment, later(MONDAY, hours=2)))
        await kept.publish(kept.edited(comment, "Redigerad", later(MONDAY, hours=1)))
        await kept.kept(comment.subject, lambda r: len(r["states"]) == 2)
        await kept.publish(comment)

        record = await kept.kept(comment.subject, lambda r: len(r["states"]) == 3)

        assert [v["text"] for v in record["versions"]] == ["Originalet", "Redigerad"]
        assert [s["state"] for s in record["states"]] == ["published", "edited", "deleted"]
        assert record["origin"] == "inkommen"
        assert (await verify(kept.deps.store)).ok


async def test_P3_7b_a_redelivered_event_is_one_fact(nats_url: str, mongodb_url: str) -> None:
    clock = Clock()
    async with archive(nats_url, mongodb_url, clock) as kept:
        account = await kept.account()
        comment = kept.comment(account, "En gång")
        await kept.publish(comment)
        await kept.kept(comment.subject)
        # The same event again, past JetStream's duplicate window (a new message id).
        await kept.js.publish(
            comment.address, comment.model_dump_json().encode(), headers={"Nats-Msg-Id": "again"}
        )
        await kept.publish(kept.edited(comment, "Två", later(MONDAY, minutes=1)))
        record = await kept.kept(comment.subject, lambda r: len(r["versions"]) == 2)

        assert len(record["entries"]) == 2
        assert await kept.deps.store.chain.count(account.data.account_id) == 3  # plan + 2


async def test_P3_7b_facts_folded_out_of_chain_order_or_left_unfolded_end_as_the_chain_says(
    nats_url: str, mongodb_url: str
) -> None:
    """Each event type has its own consumer, and a handler may stop between its two
    writes: the record still ends as the fold of its chain, and verify agrees."""
    async with archive(nats_url, mongodb_url) as kept:
        deps, minor = kept.deps, kept.deps.kommun.archive.minor_importance
        account = await kept.account()
        comment = kept.comment(account, "Först")
        await keep(deps, fact_of(comment, minor))
        flagged = fact_of(kept.removed(comment, later(MONDAY, minutes=9)), minor)
        edited = fact_of(kept.edited(comment, "Sedan", later(MONDAY, minutes=5)), minor)
        # Both appended; the later entry's handler folds first.
        await deps.store.chain.keep(flagged, deps.clock())
        await deps.store.chain.keep(edited, deps.clock())
        await keep(deps, edited)
        record, new = await keep(deps, flagged)
        assert new
        assert [v.text for v in record.versions] == ["Först", "Sedan"]
        assert list(record.entries) == sorted(record.entries)
        assert (await verify(deps.store)).ok

        # A handler that stopped after appending: the fact is kept, not folded.
        deleted = fact_of(kept.deleted(comment, later(MONDAY, minutes=20)), minor)
        await deps.store.chain.keep(deleted, deps.clock())
        report = await verify(deps.store)
        assert "not folded" in report.broken[0][1].reason
        mended = await verify(deps.store, mend=deps.uow)
        assert (mended.ok, mended.mended) == (True, [comment.subject])
        record = await deps.store.records.get(comment.subject)
        assert record is not None
        assert record.state is PlatformState.DELETED


async def test_L4_issue_13_a_new_comment_s_record_is_added_unread_a_redelivery_reads_it(
    nats_url: str, mongodb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A storm's comments each make a new record: reading it first, to find nothing,
    cost a round trip per comment. A redelivered comment still changes nothing."""
    async with archive(nats_url, mongodb_url) as kept:
        deps, minor = kept.deps, kept.deps.kommun.archive.minor_importance
        account = await kept.account()
        comment = kept.comment(account, "Ny kommentar")
        repo = deps.store.records.repo
        reads: list[str] = []
        read = repo.get

        async def counted(record_id: str) -> Any:
            reads.append(record_id)
            return await read(record_id)

        monkeypatch.setattr(repo, "get", counted)
        record, new = await keep(deps, fact_of(comment, minor))
        assert new
        assert reads == []
        again, new = await keep(deps, fact_of(comment, minor))
        assert (again, new) == (record, False)
        assert reads == [comment.subject]
        assert (await verify(deps.store)).ok


async def test_P10_2_L7_an_event_replayed_after_its_record_was_culled_is_not_kept_again(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        deps, minor = kept.deps, kept.deps.kommun.archive.minor_importance
        account = await kept.account()
        comment = kept.comment(account, "Gallras sedan")
        await keep(deps, fact_of(comment, minor))
        entries = deps.store.chain.collection
        doc = await entries.find_one({"kommun": "nora", "event_id": comment.id})
        assert doc is not None
        await entries.replace_one({"_id": doc["_id"]}, doc | {"fact": None, "culled_by": "log1"})
        await deps.store.records.repo.collection.delete_one({"_id": comment.subject})

        with pytest.raises(Culled):
            await keep(deps, fact_of(comment, minor))
        assert await deps.store.records.get(comment.subject) is None


async def test_L7_a_record_read_by_id_is_masked_for_all_but_the_registrar(
    nats_url: str, mongodb_url: str
) -> None:
    async with archive(nats_url, mongodb_url) as kept:
        account = await kept.account()
        plain = kept.comment(account, "Mitt personnummer är 19121212-1212, ring mig")
        secret = kept.comment(account, "Min diagnos är hemlig")
        for event in (plain, secret, kept.confidential(secret, later(MONDAY, minutes=1))):
            await kept.publish(event)
        await kept.kept(secret.subject, lambda r: r["confidential"] and r["versions"])

        shown = await kept.kept(plain.subject)
        assert shown["versions"][0]["text"] == "Mitt personnummer är [personnummer], ring mig"
        sealed = await kept.record(secret.subject)
        assert "diagnos" not in sealed["versions"][0]["text"]
        listed = (
            await kept.client.get(
                f"/records?account_id={account.data.account_id}", headers=ARCHIVIST
            )
        ).json()
        assert "19121212-1212" not in str(listed)
        assert "diagnos" not in str(listed)
        registrar = await kept.record(plain.subject, REGISTRAR)
        assert "19121212-1212" in registrar["versions"][0]["text"]

"""Culling under decided retention rules, and legal holds, on real NATS and the store
(P10.2, P10.3, L6, L7): only what a rule allows and no hold protects goes, the culling
log proves what went and why, `record.culled` is published, and the chain still verifies.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.archive import metrics
from services.archive.domain.chain import Broken, Entry
from services.archive.domain.culling import (
    CLAIM,
    CulledEntry,
    CullLog,
    KeptBecause,
    claim,
    culling_fact,
    finished,
)
from services.archive.domain.records import fact_of
from services.archive.handlers.culling import _finish, cull, finish_unfinished
from services.archive.handlers.records import keep, keep_unfolded
from services.archive.handlers.verify import _verify_kommun, verify
from shared.events import AccountCreated, CommentReceived
from shared.ids import new_id
from tests.helpers import REFERENCE, eventually
from tests.integration.archive.harness import (
    ARCHIVIST,
    COMMUNICATOR,
    MONDAY,
    REGISTRAR,
    Archive,
    Clock,
    archive,
    later,
)

# Older than a year: what a one-year rule lets go.
OLD = MONDAY - timedelta(days=400)
DECISION = "Dokumenthanteringsplan KS 2025/88, punkt 4.3"


def rule(**fields: Any) -> dict[str, Any]:
    """A retention rule with an id of its own (the event stream is the session's)."""
    return {
        "id": f"kommentarer-1ar-{new_id().lower()[-8:]}",
        "decision": DECISION,
        "kinds": ["comment"],
        "after_days": 365,
    } | fields


def kommun_with(tmp_path: Path, *rules: dict[str, Any]) -> Path:
    """The reference kommun with these retention rules (`archive.retention`)."""
    config = yaml.safe_load(REFERENCE.read_text())
    config["archive"]["retention"] = list(rules)
    path = tmp_path / f"kommun-{new_id().lower()}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


@asynccontextmanager
async def culling_archive(
    nats_url: str, mongodb_url: str, tmp_path: Path, *rules: dict[str, Any]
) -> AsyncIterator[Archive]:
    async with archive(
        nats_url, mongodb_url, Clock(), kommun_config=kommun_with(tmp_path, *rules)
    ) as kept:
        yield kept


async def old_comment(
    kept: Archive, account: AccountCreated, text: str, at: Any = OLD
) -> CommentReceived:
    comment = await kept.publish(kept.comment(account, text, created_at=at))
    await kept.kept(comment.subject)
    return comment


async def run(kept: Archive, dry_run: bool = False, who: dict[str, str] = ARCHIVIST) -> Any:
    answer = await kept.client.post(
        "/culling/runs", params={"dry_run": str(dry_run).lower()}, headers=who
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def set_hold(kept: Archive, body: dict[str, Any], who: dict[str, str] = ARCHIVIST) -> Any:
    answer = await kept.client.post("/holds", json=body, headers=who)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def gone(kept: Archive, record_id: str) -> bool:
    answer = await kept.client.get(f"/records/{record_id}", headers=ARCHIVIST)
    return answer.status_code == 404


def going(result: Any) -> dict[str, list[str]]:
    return {r["rule_id"]: r["record_ids"] for r in result["rules"]}


@pytest.mark.parametrize("scope", ["account", "case", "range"])
async def test_L6_P10_2_a_hold_keeps_its_record_while_the_rule_culls_the_others(
    nats_url: str, mongodb_url: str, tmp_path: Path, scope: str
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        account = await kept.account()
        other = await kept.account()
        first = await old_comment(kept, account, "Köp billiga solglasögon här", OLD)
        second = await old_comment(kept, account, "Bästa priset på däck", later(OLD, days=-10))
        if scope == "account":
            held = await old_comment(kept, other, "Vem plogar?", later(OLD, days=-20))
            body = {"scope": "account", "account_id": other.data.account_id}
        elif scope == "case":
            held = await old_comment(kept, account, "Du är en idiot", later(OLD, days=-20))
            decision = kept.decided(held, later(OLD, days=-20, minutes=5))
            await kept.publish(decision)
            await kept.kept(held.subject, lambda r: bool(r["decisions"]))
            body = {"scope": "case", "case_id": decision.data.case_id}
        else:
            held = await old_comment(kept, account, "Bygglovet på Storgatan", later(OLD, days=-20))
            day = later(OLD, days=-20).date().isoformat()
            body = {"scope": "range", "from": day, "to": day}
        hold = await set_hold(kept, body | {"reason": "Tvist i förvaltningsrätten, mål 123-26"})
        culled_ids = sorted([first.subject, second.subject])

        # A dry run lists what would go and changes nothing.
        dry = await run(kept, dry_run=True)
        assert dry["dry_run"] is True
        assert going(dry) == {retention["id"]: culled_ids}
        assert not await gone(kept, first.subject)
        log = await kept.client.get("/culling/log", headers=ARCHIVIST)
        assert log.json() == []

        entry_hashes = {
            e.id: e.hash
            for record_id in culled_ids
            for e in await kept.deps.store.chain.of_record(record_id)
        }
        done = await run(kept)

        assert going(done) == {retention["id"]: culled_ids}
        assert await gone(kept, first.subject)
        assert await gone(kept, second.subject)
        assert (await kept.record(held.subject))["id"] == held.subject
        [entry] = (await kept.client.get("/culling/log", headers=ARCHIVIST)).json()
        assert (entry["rule_id"], entry["decision"], entry["count"]) == (
            retention["id"],
            DECISION,
            2,
        )
        assert entry["record_ids"] == culled_ids
        assert entry["entries"] == entry_hashes
        assert entry["account_id"] == account.data.account_id
        for record_id in culled_ids:
            for tombstone in await kept.deps.store.chain.of_record(record_id):
                assert tombstone.fact is None
                assert tombstone.culled_by == entry["id"]
                assert tombstone.hash == entry_hashes[tombstone.id]
        [announced] = await kept.events("record.culled", first.subject)
        assert announced["data"]["rule_id"] == retention["id"]
        assert announced["data"]["decision"] == DECISION
        assert sorted(announced["data"]["record_ids"]) == culled_ids
        assert announced["data"]["log_id"] == entry["id"]
        assert (await verify(kept.deps.store)).ok

        # Lifted, with a reason: the next run lets it go.
        lifted = await kept.client.post(
            f"/holds/{hold['id']}/lift", json={"reason": "Målet avgjort"}, headers=REGISTRAR
        )
        assert lifted.status_code == 200, lifted.text
        assert (lifted.json()["in_force"], lifted.json()["lifted_by"]) == (False, "registrator")
        assert (await kept.client.get("/holds", headers=ARCHIVIST)).json() == []
        every = await kept.client.get("/holds", params={"all": "true"}, headers=ARCHIVIST)
        assert [h["lift_reason"] for h in every.json()] == ["Målet avgjort"]

        kept.clock.advance(days=1)
        again = await run(kept)

        assert going(again) == {retention["id"]: [held.subject]}
        assert await gone(kept, held.subject)
        log = (await kept.client.get("/culling/log", headers=ARCHIVIST)).json()
        assert [e["record_ids"] for e in log] == [[held.subject], culled_ids]  # newest first
        assert (await verify(kept.deps.store)).ok


async def test_L7_a_record_younger_than_the_rule_stays(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        account = await kept.account()
        old = await old_comment(kept, account, "Gammal fråga")
        young = await old_comment(kept, account, "Ny fråga", MONDAY - timedelta(days=364))

        done = await run(kept)

        assert going(done) == {retention["id"]: [old.subject]}
        assert (await kept.record(young.subject))["id"] == young.subject
        # The account's plan is a record too, but no rule of comments matches it.
        assert (await kept.record(f"account-{account.data.account_id}"))["kind"] == "account"
        assert (await verify(kept.deps.store)).ok


async def test_P10_3_a_confidential_record_awaiting_registration_stays(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        account = await kept.account()
        secret = await old_comment(kept, account, "Mitt personnummer är 19121212-1212")
        # Kept without the handler's registration: it awaits registration (P10.3).
        minor = kept.deps.kommun.archive.minor_importance
        fact = fact_of(kept.confidential(secret, later(OLD, minutes=1)), minor)
        record, _ = await keep(kept.deps, fact)
        assert record.awaits_registration

        dry = await run(kept, dry_run=True)
        done = await run(kept)

        assert going(dry) == going(done) == {}
        assert (await kept.record(secret.subject, REGISTRAR))["confidential"] is True
        assert (await verify(kept.deps.store)).ok


async def test_L6_a_record_no_rule_matches_stays(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    adverts = rule(categories=["advertising"], states=["removed"])
    async with culling_archive(nats_url, mongodb_url, tmp_path, adverts) as kept:
        account = await kept.account()
        plain = await old_comment(kept, account, "När öppnar badhuset?")
        advert = await old_comment(kept, account, "Köp solglasögon")
        await kept.publish(kept.removed(advert, later(OLD, minutes=5), category="advertising"))
        await kept.kept(advert.subject, lambda r: r["states"][-1]["state"] == "removed")
        post = await kept.publish(kept.post(account, "Badhuset öppnar 8", created_at=OLD))
        await kept.kept(post.subject)

        done = await run(kept)

        assert going(done) == {adverts["id"]: [advert.subject]}
        assert not await gone(kept, plain.subject)
        assert not await gone(kept, post.subject)
        assert (await verify(kept.deps.store)).ok


async def test_P10_2_a_record_matched_by_two_rules_goes_under_the_first(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    first, second = rule(), rule(kinds=[])
    async with culling_archive(nats_url, mongodb_url, tmp_path, first, second) as kept:
        account = await kept.account()
        comment = await old_comment(kept, account, "Hej")

        done = await run(kept)

        assert going(done) == {first["id"]: [comment.subject]}


async def test_L6_a_tombstone_no_culling_log_lists_fails_verify(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with culling_archive(nats_url, mongodb_url, tmp_path, rule()) as kept:
        account = await kept.account()
        culled = await old_comment(kept, account, "Gallras")
        await run(kept)
        assert (await verify(kept.deps.store)).ok
        logs = kept.deps.store.culling.log.collection
        doc = await logs.find_one({"record_ids": {"$in": [culled.subject]}})
        assert doc is not None

        # The log's listing of a tombstone removed: the tombstone proves nothing.
        await logs.replace_one({"_id": doc["_id"]}, doc | {"entries": doc["entries"][1:]})
        report = await verify(kept.deps.store)

        assert not report.ok
        [(account_id, broken)] = report.broken
        assert account_id == account.data.account_id
        assert broken.entry == doc["entries"][0]["id"]
        assert "no culling log lists" in broken.reason


async def test_L6_a_fact_emptied_without_a_culling_log_fails_verify(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with culling_archive(nats_url, mongodb_url, tmp_path, rule(after_days=3650)) as kept:
        account = await kept.account()
        comment = await old_comment(kept, account, "Kvar")
        [entry] = await kept.deps.store.chain.of_record(comment.subject)
        entries = kept.deps.store.chain.collection
        doc = await entries.find_one({"_id": entry.id})
        assert doc is not None

        # Someone makes a tombstone of their own, and removes the record.
        await entries.replace_one({"_id": entry.id}, doc | {"fact": None, "culled_by": "x"})
        await kept.deps.store.records.repo.collection.delete_one({"_id": comment.subject})
        report = await verify(kept.deps.store)

        assert [broken.entry for _, broken in report.broken] == [entry.id]


async def test_L6_a_run_after_a_crash_finishes_what_the_log_lists(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        account = await kept.account()
        comment = await old_comment(kept, account, "Halvvägs")
        deps = kept.deps
        entries = await deps.store.chain.of_record(comment.subject)
        # Step 1 of a run that then crashed: the log written, nothing culled yet.
        crashed = CullLog(
            id=new_id(),
            kommun="nora",
            rule_id=retention["id"],
            decision=DECISION,
            culled_at=kept.clock.now,
            account_id=account.data.account_id,
            count=1,
            record_ids=(comment.subject,),
            entries=tuple(CulledEntry(e.id, e.hash, comment.subject) for e in entries),
        )
        await deps.uow.add(deps.store.culling.log, crashed)

        results = await cull(deps, kept.clock.now)

        assert results == []  # nothing new: the leftover was finished first
        assert await gone(kept, comment.subject)
        [log] = (await kept.client.get("/culling/log", headers=ARCHIVIST)).json()
        assert (log["id"], log["finished_at"] is not None) == (crashed.id, True)
        [announced] = await kept.events("record.culled", comment.subject)
        assert announced["data"]["log_id"] == crashed.id
        assert (await verify(deps.store)).ok


async def test_L6_holds_are_set_only_whole_and_with_a_reason(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with culling_archive(nats_url, mongodb_url, tmp_path) as kept:
        refusals = [
            ({"scope": "range", "from": "2026-02-01", "to": "2026-01-01", "reason": "x"}, "to"),
            ({"scope": "account", "reason": "Tvist"}, "account_id"),
            ({"scope": "case", "case_id": "case-1"}, "reason"),
        ]
        for body, field in refusals:
            answer = await kept.client.post("/holds", json=body, headers=ARCHIVIST)
            assert answer.status_code == 422, answer.text
            assert [(e["field"], e["rule"]) for e in answer.json()["errors"]] == [(field, "L6")]
        denied = await kept.client.post(
            "/holds",
            json={"scope": "case", "case_id": "c", "reason": "Tvist"},
            headers=COMMUNICATOR,
        )
        assert denied.status_code == 403

        hold = await set_hold(kept, {"scope": "case", "case_id": "case-1", "reason": "Tvist"})
        assert metrics.HOLDS.labels("nora", "case")._value.get() == 1
        no_reason = await kept.client.post(f"/holds/{hold['id']}/lift", json={}, headers=ARCHIVIST)
        assert no_reason.status_code == 422
        assert no_reason.json()["errors"][0]["field"] == "reason"
        unknown = await kept.client.post(
            "/holds/nohold/lift", json={"reason": "x"}, headers=ARCHIVIST
        )
        assert unknown.status_code == 404
        lifted = await kept.client.post(
            f"/holds/{hold['id']}/lift", json={"reason": "Klart"}, headers=ARCHIVIST
        )
        assert lifted.status_code == 200
        assert metrics.HOLDS.labels("nora", "case")._value.get() == 0
        twice = await kept.client.post(
            f"/holds/{hold['id']}/lift", json={"reason": "Klart"}, headers=ARCHIVIST
        )
        assert twice.status_code == 409


async def test_L6_two_runs_at_once_cull_once(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        account = await kept.account()
        comments = [await old_comment(kept, account, f"Fråga {i}") for i in range(3)]

        # Two replicas' runs: the same work is logged once, announced once.
        await asyncio.gather(cull(kept.deps, kept.clock.now), cull(kept.deps, kept.clock.now))

        [log] = (await kept.client.get("/culling/log", headers=ARCHIVIST)).json()
        assert log["record_ids"] == sorted(c.subject for c in comments)
        assert len(await kept.events("record.culled", comments[0].subject)) == 1
        assert (await verify(kept.deps.store)).ok


def crashed_log(
    kept: Archive, rule_id: str, account: AccountCreated, entries: dict[str, list[Entry]]
) -> CullLog:
    """Step 1 of a run that then crashed: the log, naming these records' entries."""
    return CullLog(
        id=new_id(),
        kommun="nora",
        rule_id=rule_id,
        decision=DECISION,
        culled_at=kept.clock.now,
        account_id=account.data.account_id,
        count=len(entries),
        record_ids=tuple(sorted(entries)),
        entries=tuple(
            CulledEntry(e.id, e.hash, record_id)
            for record_id in sorted(entries)
            for e in entries[record_id]
        ),
    )


async def test_P10_2_a_hold_set_before_an_unfinished_cull_finishes_spares_its_records(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        deps = kept.deps
        account = await kept.account()
        goes = await old_comment(kept, account, "Köp solglasögon")
        held_day = later(OLD, days=-20)
        held = await old_comment(kept, account, "Bygglovet på Storgatan", held_day)
        before = await kept.record(held.subject)
        chain = deps.store.chain
        entries = {c.subject: await chain.of_record(c.subject) for c in (goes, held)}
        crashed = crashed_log(kept, retention["id"], account, entries)
        await deps.uow.add(deps.store.culling.log, crashed)
        # The crash, then a hold on one of the records the log names.
        day = held_day.date().isoformat()
        hold = await set_hold(kept, {"scope": "range", "from": day, "to": day, "reason": "Tvist"})

        assert await cull(deps, kept.clock.now) == []

        assert await gone(kept, goes.subject)
        assert await kept.record(held.subject) == before
        assert all(e.fact is not None for e in await chain.of_record(held.subject))
        found = await deps.store.culling.log.get(crashed.id)
        assert found is not None
        log = found.item
        assert log.finished_at is not None
        # The finished log names what went, and what was spared and why.
        assert (log.record_ids, log.count) == ((goes.subject,), 1)
        assert {e.record_id for e in log.entries} == {goes.subject}
        [spared] = log.spared
        assert (spared.record_id, spared.reason, spared.holds) == (
            held.subject,
            KeptBecause.HOLD,
            (hold["id"],),
        )
        assert spared.entries == tuple(e.id for e in entries[held.subject])
        answer = await kept.client.get("/culling/log", headers=ARCHIVIST)
        [shown] = [v for v in answer.json() if v["id"] == crashed.id]
        assert [(s["record_id"], s["reason"]) for s in shown["spared"]] == [(held.subject, "hold")]
        [announced] = await kept.events("record.culled", goes.subject)
        assert announced["data"]["record_ids"] == [goes.subject]
        assert announced["data"]["count"] == 1
        assert (await verify(deps.store)).ok

        # Lifted: the next run culls it under a log of its own.
        await kept.client.post(
            f"/holds/{hold['id']}/lift", json={"reason": "Målet avgjort"}, headers=ARCHIVIST
        )
        assert going(await run(kept)) == {retention["id"]: [held.subject]}
        assert await gone(kept, held.subject)
        assert (await verify(deps.store)).ok


async def test_P10_2_L6_what_a_crash_had_culled_of_a_record_before_its_hold_stays_culled(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        deps = kept.deps
        account = await kept.account()
        comment = await old_comment(kept, account, "Första versionen")
        await kept.publish(kept.edited(comment, "Andra versionen", later(OLD, minutes=1)))
        await kept.kept(comment.subject, lambda r: len(r["versions"]) == 2)
        written, edit = await deps.store.chain.of_record(comment.subject)
        crashed = crashed_log(kept, retention["id"], account, {comment.subject: [written, edit]})
        await deps.uow.add(deps.store.culling.log, crashed)
        # The crash came after the chained proof and the first tombstone.
        await keep_unfolded(deps, culling_fact(crashed, [comment.subject], kept.clock.now))
        assert await deps.store.culling.tombstone(written.id, written.hash, crashed.id)
        hold = await set_hold(
            kept,
            {"scope": "account", "account_id": account.data.account_id, "reason": "Tvist"},
        )

        await cull(deps, kept.clock.now)

        # What is left of it stays, folded from what is left, and verify holds.
        record = await kept.record(comment.subject)
        assert [v["text"] for v in record["versions"]] == ["Andra versionen"]
        found = await deps.store.culling.log.get(crashed.id)
        assert found is not None
        [spared] = found.item.spared
        assert (spared.record_id, spared.holds, spared.entries) == (
            comment.subject,
            (hold["id"],),
            (edit.id,),
        )
        assert [e.id for e in found.item.entries] == [written.id]
        assert (await verify(deps.store)).ok


async def test_P10_2_L6_a_half_finished_cull_is_being_culled_not_broken_and_the_check_finishes_it(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        deps = kept.deps
        account = await kept.account()
        comment = await old_comment(kept, account, "Halvvägs")
        entries = await deps.store.chain.of_record(comment.subject)
        crashed = crashed_log(kept, retention["id"], account, {comment.subject: entries})
        await deps.uow.add(deps.store.culling.log, crashed)
        # A run that stopped after its tombstones, before deleting the record.
        await keep_unfolded(deps, culling_fact(crashed, [comment.subject], kept.clock.now))
        for entry in entries:
            assert await deps.store.culling.tombstone(entry.id, entry.hash, crashed.id)

        report = await verify(deps.store)  # what `kanalvakt archive verify` sees

        assert report.ok, report.broken
        assert report.being_culled == [comment.subject]

        await _verify_kommun(deps, kept.clock.now)  # the periodic check

        assert metrics.VERIFY_FAILURES.labels("nora")._value.get() == 0
        assert await gone(kept, comment.subject)
        found = await deps.store.culling.log.get(crashed.id)
        assert found is not None
        assert found.item.finished_at is not None
        report = await verify(deps.store)
        assert (report.ok, report.being_culled) == (True, [])


async def test_L6_a_forged_culling_log_and_tombstone_fail_verify(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    async with culling_archive(nats_url, mongodb_url, tmp_path, rule(after_days=3650)) as kept:
        deps = kept.deps
        account = await kept.account()
        comment = await old_comment(kept, account, "Obekväm fråga")
        [entry] = await deps.store.chain.of_record(comment.subject)
        # Someone writes a culling log of their own that lists the entry with its hash,
        # makes the tombstone it proves and removes the record: no chained fact covers it.
        forged = crashed_log(kept, "kommentarer-1ar", account, {comment.subject: [entry]})
        await deps.uow.add(deps.store.culling.log, finished(forged, kept.clock.now))
        assert await deps.store.culling.tombstone(entry.id, entry.hash, forged.id)
        await deps.store.records.repo.collection.delete_one({"_id": comment.subject})

        report = await verify(deps.store)

        [(account_id, broken)] = report.broken
        assert account_id == account.data.account_id
        assert broken == Broken(entry.id, "content gone but no chained culling fact covers it")


async def test_P10_2_L7_a_record_spared_alone_is_culled_once_its_hold_is_lifted(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        deps = kept.deps
        account = await kept.account()
        held = await old_comment(kept, account, "Bygglovet på Storgatan")
        entries = {held.subject: await deps.store.chain.of_record(held.subject)}
        crashed = crashed_log(kept, retention["id"], account, entries)
        await deps.uow.add(deps.store.culling.log, crashed)
        body = {"scope": "account", "account_id": account.data.account_id, "reason": "Tvist"}
        hold = await set_hold(kept, body)

        assert await cull(deps, kept.clock.now) == []  # the log finished, the record spared

        found = await deps.store.culling.log.get(crashed.id)
        assert found is not None
        assert (found.item.count, [s.record_id for s in found.item.spared]) == (0, [held.subject])
        assert not await gone(kept, held.subject)

        # Lifted: the same plan as the spared log's ({the record}) is new work (L7: kept
        # no longer than the rule says), not "another replica's".
        await kept.client.post(
            f"/holds/{hold['id']}/lift", json={"reason": "Målet avgjort"}, headers=ARCHIVIST
        )
        kept.clock.advance(days=1)
        assert going(await run(kept)) == {retention["id"]: [held.subject]}
        assert await gone(kept, held.subject)
        assert (await verify(deps.store)).ok


async def test_L6_two_culling_logs_naming_one_record_leave_a_verifiable_chain(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        deps = kept.deps
        account = await kept.account()
        first = await old_comment(kept, account, "Fråga 1")
        second = await old_comment(kept, account, "Fråga 2")
        of_first = {first.subject: await deps.store.chain.of_record(first.subject)}
        both = of_first | {second.subject: await deps.store.chain.of_record(second.subject)}
        # One replica planned {first}, another a moment later {first, second}: two
        # pieces of work, two logs, both naming the first record's entries.
        by_a = crashed_log(kept, retention["id"], account, of_first)
        by_b = crashed_log(kept, retention["id"], account, both)
        await deps.uow.add(deps.store.culling.log, by_a)
        await deps.uow.add(deps.store.culling.log, by_b)

        assert await finish_unfinished(deps) == 2

        assert await gone(kept, first.subject)
        assert await gone(kept, second.subject)
        culled_by = {e.culled_by for e in await deps.store.chain.of_record(first.subject)}
        assert len(culled_by) == 1
        assert culled_by <= {by_a.id, by_b.id}
        report = await verify(deps.store)
        assert report.ok, report.broken


async def test_P10_2_two_tasks_finishing_one_log_count_its_records_once(
    nats_url: str, mongodb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        deps = kept.deps
        account = await kept.account()
        comment = await old_comment(kept, account, "Fråga")
        entries = {comment.subject: await deps.store.chain.of_record(comment.subject)}
        crashed = crashed_log(kept, retention["id"], account, entries)
        await deps.uow.add(deps.store.culling.log, crashed)
        repo = deps.store.culling.log
        save = repo.save

        async def slow_save(*args: Any, **kwargs: Any) -> int:
            await asyncio.sleep(0.2)  # both read the log before either writes it
            return await save(*args, **kwargs)

        monkeypatch.setattr(repo, "save", slow_save)
        culled = metrics.CULLED.labels("nora", retention["id"])
        before = culled._value.get()

        # The finishing write is run again after the other's landed: counted once.
        await asyncio.gather(_finish(deps, crashed), _finish(deps, crashed))

        assert culled._value.get() - before == 1
        assert len(await kept.events("record.culled", comment.subject)) == 1
        assert (await verify(deps.store)).ok


@pytest.mark.parametrize(
    "when", ["after_the_anchor_is_read", "before_the_chain_is_read", "after_the_chain_is_read"]
)
async def test_P10_2_L6_a_cull_running_while_verify_reads_is_being_culled_not_broken(
    nats_url: str, mongodb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, when: str
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        deps, store = kept.deps, kept.deps.store
        account = await kept.account()
        comment = await old_comment(kept, account, "Fråga")
        entries = {comment.subject: await store.chain.of_record(comment.subject)}
        live = crashed_log(kept, retention["id"], account, entries)

        async def another_replica_culls() -> None:
            # Steps 1-2 of a live cull elsewhere: its log, its chained fact, its tombstones.
            await deps.uow.add(store.culling.log, live)
            await keep_unfolded(deps, culling_fact(live, [comment.subject], kept.clock.now))
            for entry in entries[comment.subject]:
                assert await store.culling.tombstone(entry.id, entry.hash, live.id)

        if when == "after_the_anchor_is_read":
            anchor = store.chain.anchor

            async def anchor_then_cull(account_id: str) -> Any:
                found = await anchor(account_id)
                await another_replica_culls()
                return found

            monkeypatch.setattr(store.chain, "anchor", anchor_then_cull)
        else:
            of_account = store.chain.of_account

            async def chain_with_a_cull(account_id: str) -> AsyncIterator[Entry]:
                if when == "before_the_chain_is_read":
                    await another_replica_culls()
                read = [e async for e in of_account(account_id)]
                if when == "after_the_chain_is_read":
                    await another_replica_culls()
                for entry in read:
                    yield entry

            monkeypatch.setattr(store.chain, "of_account", chain_with_a_cull)

        report = await verify(store)

        assert report.ok, report.broken
        assert report.being_culled == [comment.subject]


async def test_P10_2_L6_a_record_one_finisher_spares_and_another_culls_is_listed_as_gone(
    nats_url: str, mongodb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        deps, store = kept.deps, kept.deps.store
        account = await kept.account()
        comment = await old_comment(kept, account, "Fråga")
        entries = {comment.subject: await store.chain.of_record(comment.subject)}
        log = crashed_log(kept, retention["id"], account, entries)
        await deps.uow.add(store.culling.log, log)
        # Another finisher asked the holds (none) and kept its chained fact; then a hold.
        await keep_unfolded(deps, culling_fact(log, [comment.subject], kept.clock.now))
        body = {"scope": "account", "account_id": account.data.account_id, "reason": "Tvist"}
        await set_hold(kept, body)
        change = deps.uow.change
        other_done = False

        async def other_finisher_culls_first(*args: Any, **kwargs: Any) -> Any:
            # After this finisher saw the hold and read what stands, before it writes
            # the log: the other one tombstones the record and removes it.
            nonlocal other_done
            if not other_done:
                other_done = True
                for entry in entries[comment.subject]:
                    await store.culling.tombstone(entry.id, entry.hash, log.id)
                await store.records.repo.collection.delete_one({"_id": comment.subject})
            return await change(*args, **kwargs)

        monkeypatch.setattr(deps.uow, "change", other_finisher_culls_first)

        done = await _finish(deps, log)  # this finisher sees the hold

        # The log lists every tombstone it made: the record went after all, and says so.
        assert await gone(kept, comment.subject)
        assert (done.record_ids, done.spared, done.restored) == (
            (comment.subject,),
            (),
            (comment.subject,),
        )
        assert {e.id for e in done.entries} == {e.id for e in entries[comment.subject]}
        [announced] = await kept.events("record.culled", comment.subject)
        assert announced["data"]["record_ids"] == [comment.subject]
        report = await verify(store)
        assert report.ok, report.broken


async def test_P10_2_L6_a_log_a_live_task_has_claimed_is_left_to_it_until_the_claim_runs_out(
    nats_url: str, mongodb_url: str, tmp_path: Path
) -> None:
    retention = rule()
    async with culling_archive(nats_url, mongodb_url, tmp_path, retention) as kept:
        deps = kept.deps
        account = await kept.account()
        comment = await old_comment(kept, account, "Fråga")
        entries = {comment.subject: await deps.store.chain.of_record(comment.subject)}
        written = crashed_log(kept, retention["id"], account, entries)
        await deps.uow.add(deps.store.culling.log, claim(written, "a-live-run", kept.clock.now))

        # The periodic check (and another replica's run) leave it to the run finishing it.
        assert await finish_unfinished(deps) == 0
        assert not await gone(kept, comment.subject)
        assert (await verify(deps.store)).ok

        # That run crashed: once its claim has run out, one of two others finishes it.
        kept.clock.advance(seconds=CLAIM.total_seconds())
        culled = metrics.CULLED.labels("nora", retention["id"])
        before = culled._value.get()
        finishing = await asyncio.gather(finish_unfinished(deps), finish_unfinished(deps))

        assert sorted(finishing) == [0, 1]
        assert culled._value.get() - before == 1
        assert await gone(kept, comment.subject)
        assert (await verify(deps.store)).ok


async def test_L6_the_holds_gauge_is_right_from_a_restart_not_only_once_a_hold_changes(
    nats_url: str, mongodb_url: str
) -> None:
    database = f"kvtest_{new_id().lower()}"
    async with archive(nats_url, mongodb_url, mongodb_database=database) as kept:
        await set_hold(kept, {"scope": "account", "account_id": "acc-1", "reason": "Tvist"})
    metrics.HOLDS.labels("nora", "account").set(0)  # as a new process starts
    async with archive(nats_url, mongodb_url, mongodb_database=database):

        async def counted() -> bool:  # by the periodic check's first round, at the start
            return bool(metrics.HOLDS.labels("nora", "account")._value.get() == 1)

        await eventually(counted, what="the hold counted after the restart")

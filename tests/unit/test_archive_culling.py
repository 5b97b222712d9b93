"""Culling's rules without a store: which records a retention rule matches, what a hold
protects, and the plan a run follows (P10.2, P10.3, L6, L7)."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.archive.domain.culling import (
    CLAIM,
    CulledEntry,
    CullLog,
    Hold,
    HoldScope,
    KeptBecause,
    Spared,
    claim,
    claimed,
    culling_fact,
    lift,
    matches,
    new_hold,
    plan,
    protects,
    restore,
    spare,
    why_kept,
)
from services.archive.domain.records import (
    Decision,
    FactKind,
    Origin,
    PlatformState,
    Record,
    RecordKind,
    Registration,
    StateChange,
    of_a_record,
)
from shared.kommun import RetentionRule
from shared.rules import Conflict, RuleViolations

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=400)


def rule(**fields: Any) -> RetentionRule:
    return RetentionRule.model_validate(
        {"id": "reklam-1ar", "decision": "DHP KS 2025/88, 4.3", "after_days": 365} | fields
    )


def record(record_id: str = "facebook-1", **fields: Any) -> Record:
    base = Record(
        id=record_id,
        kommun="nora",
        kind=RecordKind.COMMENT,
        account_id="a1",
        origin=Origin.RECEIVED,
        origin_at=OLD,
        first_at=OLD,
        states=(StateChange(PlatformState.PUBLISHED, OLD, "e1"),),
    )
    return replace(base, **fields)


def decided(case_id: str, category: str | None = "advertising") -> Decision:
    return Decision(case_id, "remove", category, ("P5.9",), "Reklam", "cecilia", OLD, "e2")


def hold(scope: HoldScope, **fields: Any) -> Hold:
    return new_hold("h1", "nora", scope, "Tvist om bygglov", "arkivarie", NOW, **fields)


def test_P10_2_L6_a_rule_matches_an_old_enough_record_of_its_kind_state_and_category() -> None:
    removed = record(
        states=(StateChange(PlatformState.REMOVED, OLD, "e3"),),
        decisions=(decided("case-1"),),
    )
    strict = rule(kinds=["comment"], categories=["advertising"], states=["removed"])

    assert matches(strict, removed, NOW)
    assert not matches(strict, record(decisions=(decided("case-1"),)), NOW)  # published
    assert not matches(strict, replace(removed, kind=RecordKind.POST), NOW)
    assert not matches(rule(origins=["upprättad"]), removed, NOW)
    assert not matches(rule(accounts=["a2"]), removed, NOW)
    assert matches(rule(accounts=["a1"], origins=["inkommen"]), removed, NOW)


def test_L7_age_counts_from_when_written_or_else_from_the_first_fact() -> None:
    young = record(origin_at=NOW - timedelta(days=364), first_at=NOW - timedelta(days=364))
    edited_late = record(origin_at=OLD, first_at=OLD)
    unknown = record(origin_at=None, first_at=OLD)  # an edit kept before its comment

    assert not matches(rule(), young, NOW)
    assert matches(rule(), edited_late, NOW)
    assert matches(rule(), unknown, NOW)
    assert not matches(rule(), record(origin_at=None, first_at=None), NOW)


def test_P10_2_category_none_matches_records_no_decision_categorised() -> None:
    assert matches(rule(categories=["none"]), record(), NOW)
    assert not matches(rule(categories=["none"]), record(decisions=(decided("c"),)), NOW)
    flagged = record(flagged=("advertising",))
    assert matches(rule(categories=["advertising"]), flagged, NOW)


def test_L6_holds_protect_their_account_case_and_date_range() -> None:
    of_case = record(decisions=(decided("case-7"),))

    assert protects(hold(HoldScope.ACCOUNT, account_id="a1"), record())
    assert not protects(hold(HoldScope.ACCOUNT, account_id="a2"), record())
    assert protects(hold(HoldScope.CASE, case_id="case-7"), of_case)
    assert not protects(hold(HoldScope.CASE, case_id="case-8"), of_case)
    day = OLD.date()
    assert protects(hold(HoldScope.RANGE, from_date=day, to_date=day), record())
    assert protects(hold(HoldScope.RANGE, from_date=day), record())  # open-ended
    assert not protects(hold(HoldScope.RANGE, from_date=day + timedelta(days=1)), record())
    narrow = hold(HoldScope.RANGE, from_date=day, account_id="a2")
    assert not protects(narrow, record())


def test_L6_a_range_hold_counts_days_in_swedish_time() -> None:
    # 23:30 UTC on 31 December is already New Year's Day in Sweden.
    late = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    new_year = hold(HoldScope.RANGE, from_date=date(2026, 1, 1), to_date=date(2026, 1, 1))
    assert protects(new_year, record(origin_at=late, first_at=late))


def test_L6_a_lifted_hold_protects_nothing_and_stays_on_record() -> None:
    lifted = lift(hold(HoldScope.ACCOUNT, account_id="a1"), "registrator", "Tvisten avgjord", NOW)

    assert not protects(lifted, record())
    assert (lifted.lifted_by, lifted.lift_reason, lifted.lifted_at) == (
        "registrator",
        "Tvisten avgjord",
        NOW,
    )
    with pytest.raises(Conflict):
        lift(lifted, "registrator", "igen", NOW)
    with pytest.raises(RuleViolations) as refused:
        lift(hold(HoldScope.ACCOUNT, account_id="a1"), "registrator", " ", NOW)
    assert refused.value.violations[0].field == "reason"


@pytest.mark.parametrize(
    ("scope", "fields", "field"),
    [
        (HoldScope.ACCOUNT, {}, "account_id"),
        (HoldScope.CASE, {"case_id": "  "}, "case_id"),
        (HoldScope.RANGE, {"to_date": date(2026, 1, 1)}, "from"),
        (HoldScope.RANGE, {"from_date": date(2026, 2, 1), "to_date": date(2026, 1, 1)}, "to"),
        (HoldScope.ACCOUNT, {"account_id": "a1", "case_id": "c1"}, "case_id"),
    ],
)
def test_L6_an_incomplete_hold_is_refused_naming_the_field(
    scope: HoldScope, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(RuleViolations) as refused:
        hold(scope, **fields)
    assert [(v.field, v.rule) for v in refused.value.violations] == [(field, "L6")]


def test_L6_a_hold_needs_a_reason() -> None:
    with pytest.raises(RuleViolations) as refused:
        new_hold("h", "nora", HoldScope.ACCOUNT, "", "arkivarie", NOW, account_id="a1")
    assert [v.field for v in refused.value.violations] == ["reason"]


def test_P10_2_L6_P10_3_each_record_under_its_first_rule_never_held_or_unregistered() -> None:
    first = rule(id="forst", categories=["advertising"])
    second = rule(id="sedan")
    advert = record("r1", decisions=(decided("case-1"),))
    plain = record("r2")
    held = record("r3", account_id="a9")
    secret = record("r4", confidential=True)
    registered = record(
        "r5", confidential=True, registration=Registration("KS 2026/000001", OLD, "e9")
    )
    young = record("r6", origin_at=NOW, first_at=NOW)

    going = plan(
        [first, second],
        [plain, advert, held, secret, registered, young],
        [hold(HoldScope.ACCOUNT, account_id="a9")],
        NOW,
    )

    assert [(g.rule.id, [r.id for r in g.records]) for g in going] == [
        ("forst", ["r1"]),
        ("sedan", ["r2", "r5"]),
    ]
    assert plan([first], [plain], [], NOW) == []


def _log() -> CullLog:
    entries = (
        CulledEntry("nora:a1:000000000002", "aa" * 32, "r1"),
        CulledEntry("nora:a1:000000000003", "bb" * 32, "r2"),
        CulledEntry("nora:a1:000000000004", "cc" * 32, "r2"),
    )
    return CullLog("log1", "nora", "reklam-1ar", "DHP", OLD, "a1", 2, ("r1", "r2"), entries)


def test_P10_2_L6_why_a_record_is_kept_names_its_holds() -> None:
    held = hold(HoldScope.ACCOUNT, account_id="a1")
    other = replace(hold(HoldScope.ACCOUNT, account_id="a2"), id="h2")

    assert why_kept(record(), [other]) is None
    assert why_kept(record(), [held, other]) == (KeptBecause.HOLD, ("h1",))
    secret = record(confidential=True)
    assert why_kept(secret, []) == (KeptBecause.AWAITS_REGISTRATION, ())


def test_P10_2_L6_a_spared_record_leaves_what_the_log_says_went_and_frees_its_fingerprint() -> None:
    log = _log()
    kept = Spared("r2", KeptBecause.HOLD, ("h1",), ("nora:a1:000000000004",), NOW)

    spared = spare(log, [kept])

    assert (spared.record_ids, spared.count, spared.spared) == (("r1",), 1, (kept,))
    # Its entry culled before the hold (a crash) stays listed: its tombstone's proof.
    assert [e.id for e in spared.entries] == ["nora:a1:000000000002", "nora:a1:000000000003"]
    assert spare(spared, [kept]) == spared  # once
    # The spared record may be planned again once the hold is lifted: the planned
    # work's fingerprint is free, the log's own is unique to it (L6, L7).
    assert spared.fingerprint != log.fingerprint
    assert spared.fingerprint.endswith(":log1")
    again = CullLog("log2", "nora", "reklam-1ar", "DHP", NOW, "a1", 1, ("r2",), log.entries[1:])
    assert again.fingerprint not in {spared.fingerprint, log.fingerprint}
    assert replace(log, id="log3").fingerprint == log.fingerprint  # identical plans: one log


def test_P10_2_L6_entries_spared_by_one_finisher_and_culled_by_another_go_back_to_the_log() -> None:
    log = _log()
    both = ("nora:a1:000000000003", "nora:a1:000000000004")
    spared = spare(log, [Spared("r2", KeptBecause.HOLD, ("h1",), both, NOW)])
    third, fourth = log.entries[1:]

    # A second finisher tombstoned one entry of r2 so far: it is listed again, r2
    # stays spared with the other.
    part = restore(spared, [third])
    assert [e.id for e in part.entries] == [log.entries[0].id, third.id]
    assert [s.entries for s in part.spared] == [(fourth.id,)]
    assert (part.record_ids, part.restored) == (("r1",), ())
    # Then the other: r2 went after all, and the log says so.
    whole = restore(part, [fourth])
    assert (whole.record_ids, whole.count, whole.spared, whole.restored) == (
        ("r1", "r2"),
        2,
        (),
        ("r2",),
    )
    assert whole.entries == log.entries
    assert whole.fingerprint != log.fingerprint  # still its own
    assert restore(whole, [third, fourth]) == whole  # once
    assert restore(log, [third]) == log  # nothing spared: nothing to restore


def test_P10_2_L6_one_task_at_a_time_finishes_a_log_until_its_claim_runs_out() -> None:
    mine = claim(_log(), "task-a", NOW)

    assert (mine.claimed_by, mine.claimed_until) == ("task-a", NOW + CLAIM)
    assert claimed(mine, NOW + CLAIM - timedelta(seconds=1))
    assert claim(mine, "task-b", NOW + timedelta(minutes=1)) == mine  # live: refused
    assert not claimed(mine, NOW + CLAIM)
    taken = claim(mine, "task-b", NOW + CLAIM)  # run out (a crash): another may finish it
    assert taken.claimed_by == "task-b"
    done = replace(_log(), finished_at=NOW)
    assert claim(done, "task-b", NOW) == done
    assert not claimed(_log(), NOW)  # a log without a claim (written before claims)


def test_P10_2_L6_the_culling_fact_names_what_goes_with_its_hashes() -> None:
    fact = culling_fact(_log(), ["r2"], NOW)

    assert (fact.kind, fact.account_id, fact.record_id) == (FactKind.CULLED, "a1", "culling-log1")
    assert not of_a_record(fact)
    assert fact.data["record_ids"] == ["r2"]
    assert fact.data["entries"] == [
        {"id": "nora:a1:000000000003", "hash": "bb" * 32, "record_id": "r2"},
        {"id": "nora:a1:000000000004", "hash": "cc" * 32, "record_id": "r2"},
    ]
    # One per log and set of records: a narrower set after a crash is a fact of its own.
    assert culling_fact(_log(), ["r2"], NOW).event_id == fact.event_id
    assert culling_fact(_log(), ["r1", "r2"], NOW).event_id != fact.event_id

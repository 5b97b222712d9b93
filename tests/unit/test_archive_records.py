"""The archive's records and chain as pure rules: facts fold to the same record in any
order of arrival, the kommun's and the public's kept apart, minor records told, and any
change to a kept fact detected (P3.7b, P10.4, P10.6, P10.7, L4, L5, L6)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest

from services.archive.domain import chain
from services.archive.domain.records import (
    AuthorKind,
    Fact,
    FactKind,
    Origin,
    PlatformState,
    Record,
    RecordKind,
    fold,
    is_minor,
    stored_time,
)
from services.archive.domain.search import masked_text
from shared.kommun import MinorImportance

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _fact(kind: FactKind, minutes: int, **data: object) -> Fact:
    return Fact(
        event_id=f"{kind.value}-{minutes}",
        event_type=kind.value,
        kind=kind,
        record_id="facebook-1",
        record_kind=RecordKind.COMMENT,
        account_id="A",
        at=T0 + timedelta(minutes=minutes),
        data=dict(data),
    )


WRITTEN = _fact(FactKind.WRITTEN, 0, text="Först", author={"id": "u1", "name": "Eva"})
EDITED = _fact(FactKind.EDITED, 5, text="Sedan")
REMOVED = _fact(FactKind.REMOVED, 9, how="removed", category="advertising", rules=["P5.2"])


def _folded(facts: list[Fact]) -> Record:
    record = None
    for i, fact in enumerate(facts):
        record = fold(record, fact, f"e{i}", "nora")
    assert record is not None
    return record


def test_L4_the_history_ends_right_whatever_order_the_facts_came_in() -> None:
    for order in permutations([WRITTEN, EDITED, REMOVED]):
        record = _folded(list(order))
        assert [v.text for v in record.versions] == ["Först", "Sedan"]
        assert [v.number for v in record.versions] == [1, 2]
        assert [s.state for s in record.states] == [
            PlatformState.PUBLISHED,
            PlatformState.EDITED,
            PlatformState.REMOVED,
        ]
        assert record.origin is Origin.RECEIVED
        assert record.origin_at == T0
        assert record.text == "Sedan"
        assert record.category == "advertising"


def test_P10_6_L4_the_kommun_s_own_comment_is_upprattad_a_visitor_s_inkommen() -> None:
    own = _fact(FactKind.WRITTEN, 0, text="Svar", author={"id": "k", "is_kommun": True})
    assert _folded([own]).author is not None
    assert _folded([own]).author.kind is AuthorKind.KOMMUN  # type: ignore[union-attr]
    assert _folded([own]).origin is Origin.DRAWN_UP
    assert _folded([WRITTEN]).author.kind is AuthorKind.PUBLIC  # type: ignore[union-attr]


def test_L6_removal_changes_the_state_never_the_record() -> None:
    record = _folded([WRITTEN, REMOVED])
    assert record.state is PlatformState.REMOVED
    assert record.text == "Först"
    assert len(record.versions) == 1


def test_P10_3_a_decision_that_it_is_confidential_seals_it_until_registered() -> None:
    decided = _fact(FactKind.DECIDED, 3, case_id="c1", resolution="hide", category="confidential")
    record = _folded([WRITTEN, decided])
    assert record.sealed
    assert record.awaits_registration
    registered = _fact(FactKind.REGISTERED, 4, diary_number="KS 2026/000001")
    record = _folded([WRITTEN, decided, registered])
    assert not record.awaits_registration
    assert record.registration is not None
    assert record.registration.diary_number == "KS 2026/000001"


def test_P10_7_L5_a_reaction_or_a_word_of_thanks_is_of_minor_importance() -> None:
    rule = MinorImportance(texts=["tack"])
    assert is_minor("👍", [], rule)
    assert is_minor("Tack!", [], rule)
    assert not is_minor("Tack för svaret om bygglovet", [], rule)
    assert not is_minor("👍", ["https://example.com"], rule)
    assert not is_minor("👍", [], MinorImportance(without_words=False))


def test_P3_7b_a_fact_folded_twice_is_one_fact() -> None:
    record = fold(None, WRITTEN, "e0", "nora")
    assert fold(record, WRITTEN, "e0", "nora") == record


def test_P3_7b_a_chain_links_and_any_change_breaks_it() -> None:
    first = chain.append("nora", None, WRITTEN, T0)
    second = chain.append("nora", first, EDITED, T0)
    assert (first.seq, second.seq, second.prev) == (1, 2, first.hash)
    assert chain.check([first, second], {}) is None

    changed = replace(second, fact=replace(EDITED, data={"text": "Annat"}))
    broken = chain.check([first, changed], {})
    assert broken is not None
    assert broken.entry == second.id
    assert "content changed" in broken.reason
    gap = chain.check([second], {})
    assert gap is not None
    assert "gap" in gap.reason

    # A tombstone holds when the culling log lists it and a culling fact later in the
    # chain itself names it with that hash (P10.2, L6).
    tombstone = replace(first, fact=None, culled_by="log1")
    proof = chain.append("nora", second, _culling_fact("log1", first), T0)
    assert chain.check([tombstone, second, proof], {first.id: first.hash}) is None
    unlisted = chain.check([tombstone, second, proof], {})
    assert unlisted is not None
    assert "culling log" in unlisted.reason


def _culling_fact(log_id: str, *entries: chain.Entry) -> Fact:
    return Fact(
        event_id=f"culled-{log_id}",
        event_type="archive.culled",
        kind=FactKind.CULLED,
        record_id=f"culling-{log_id}",
        record_kind=RecordKind.ACCOUNT,
        account_id="A",
        at=T0,
        data={
            "log_id": log_id,
            "entries": [{"id": e.id, "hash": e.hash, "record_id": e.record_id} for e in entries],
        },
    )


def test_P10_2_L6_a_tombstone_only_a_forged_culling_log_lists_breaks_the_chain() -> None:
    first = chain.append("nora", None, WRITTEN, T0)
    second = chain.append("nora", first, EDITED, T0)
    tombstone = replace(first, fact=None, culled_by="forged")
    listed = {first.id: first.hash}

    broken = chain.check([tombstone, second], listed)

    assert broken == chain.Broken(first.id, "content gone but no chained culling fact covers it")
    # A chained culling fact of another log, or naming another hash, proves nothing.
    other = chain.append("nora", second, _culling_fact("log2", first), T0)
    assert chain.check([tombstone, second, other], listed) == broken
    wrong = replace(first, hash="0" * 64)
    forged = chain.append("nora", second, _culling_fact("forged", wrong), T0)
    assert chain.check([tombstone, second, forged], listed) == broken
    right = chain.append("nora", second, _culling_fact("forged", first), T0)
    assert chain.check([tombstone, second, right], listed) is None


def test_P10_2_L6_two_culling_logs_naming_one_entry_either_proves_its_tombstone() -> None:
    # Two replicas planned overlapping work ({r1} and {r1, r2}): both logs, and both
    # chained culling facts, name the first entry; one of them made its tombstone.
    first = chain.append("nora", None, WRITTEN, T0)
    second = chain.append("nora", first, EDITED, T0)
    by_a = chain.append("nora", second, _culling_fact("logA", first), T0)
    by_b = chain.append("nora", by_a, replace(_culling_fact("logB", first), event_id="b"), T0)
    listed = {first.id: first.hash}

    for log_id in ("logA", "logB"):
        tombstone = replace(first, fact=None, culled_by=log_id)
        assert chain.check([tombstone, second, by_a, by_b], listed) is None
    stranger = replace(first, fact=None, culled_by="logC")
    assert chain.check([stranger, second, by_a, by_b], listed) == chain.Broken(
        first.id, "content gone but no chained culling fact covers it"
    )


def test_P10_2_L6_the_culling_logs_may_be_read_after_the_chain() -> None:
    # verify reads the logs after the chain: a cull that wrote its log while the chain
    # was read is then listed (the log comes before its tombstones).
    first = chain.append("nora", None, WRITTEN, T0)
    second = chain.append("nora", first, EDITED, T0)
    proof = chain.append("nora", second, _culling_fact("log1", first), T0)
    checking = chain.ChainCheck()
    for entry in (replace(first, fact=None, culled_by="log1"), second, proof):
        checking.add(entry)

    assert checking.finish({first.id: first.hash}) is None
    unlisted = checking.finish({})
    assert unlisted == chain.Broken(first.id, "content gone but no culling log lists this entry")


def test_P10_2_a_culling_fact_is_of_no_record() -> None:
    first = chain.append("nora", None, WRITTEN, T0)
    proof = chain.append("nora", first, _culling_fact("log1", first), T0)

    assert chain.refold([proof], "nora") is None
    assert chain.refold([first, proof], "nora") == chain.refold([first], "nora")
    assert proof.fact is not None
    with pytest.raises(ValueError, match="of no record"):
        fold(None, proof.fact, proof.id, "nora")


def test_P3_7b_L6_a_chain_that_ends_before_its_head_anchor_is_broken() -> None:
    first = chain.append("nora", None, WRITTEN, T0)
    second = chain.append("nora", first, EDITED, T0)
    third = chain.append("nora", second, REMOVED, T0)
    anchor = chain.Anchor("nora", "A", third.seq, third.hash)

    assert chain.check([first, second, third], {}, anchor) is None
    # The anchor lags (a crash before it was written): the chain may run past it.
    assert chain.check([first, second, third], {}, replace(anchor, seq=2, hash=second.hash)) is None

    # The last two entries deleted: the chain still links, but ends short.
    short = chain.check([first], {}, anchor)
    assert short is not None
    assert short.entry == chain.entry_id("nora", "A", 2)
    assert "ends at sequence 1" in short.reason
    assert "names sequence 3" in short.reason
    gone = chain.check([], {}, anchor)
    assert gone is not None
    assert gone.entry == chain.entry_id("nora", "A", 1)

    # The end rewritten (a different last entry, well linked): its hash is not the anchor's.
    other = chain.append("nora", second, replace(REMOVED, data={"how": "hidden"}), T0)
    rewritten = chain.check([first, second, other], {}, anchor)
    assert rewritten == chain.Broken(other.id, "its hash differs from the account's head anchor")


def test_P3_7b_the_hash_is_the_same_before_and_after_the_store_keeps_the_time() -> None:
    fine = replace(WRITTEN, at=T0 + timedelta(microseconds=123_456))
    stored = replace(fine, at=stored_time(fine.at))
    assert chain.content_hash(fine) == chain.content_hash(stored)


def test_L7_a_mark_stays_on_its_version_when_an_earlier_version_arrives_late() -> None:
    # The edit arrives first: the registrar marks "Sedan" while it is version 1.
    record = fold(None, EDITED, "e-edit", "nora")
    marked = _fact(
        FactKind.MARKED,
        20,
        version=1,
        version_entry="e-edit",
        start=0,
        end=5,
        reason="OSL",
        by="registrator",
    )
    record = fold(record, marked, "e-mark", "nora")
    # The comment itself arrives: "Först" becomes version 1, "Sedan" version 2.
    record = fold(record, WRITTEN, "e-written", "nora")
    first, second = record.versions
    assert (first.text, second.text) == ("Först", "Sedan")
    assert masked_text(record, first) == "Först"
    assert masked_text(record, second) == "[sekretess]"

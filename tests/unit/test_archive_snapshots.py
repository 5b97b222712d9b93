"""Snapshots as pure rules and a rendering: which changes are larger, when one is due,
that a closed account is never due, what an item shows (never a sealed text), and that a
file too large for the store leaves out the oldest items and says so (P10.5, L8, P10.3)."""

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader

from services.archive.domain.records import (
    Author,
    AuthorKind,
    Fact,
    FactKind,
    Mark,
    Origin,
    PlatformState,
    Record,
    RecordKind,
    Registration,
    StateChange,
    Version,
    fold,
)
from services.archive.domain.snapshots import (
    SEALED_TEXT,
    due_at,
    item,
    larger_change,
    plan_facts,
    snapshot_id,
)
from services.archive.handlers.snapshots import render
from shared.kommun import Snapshots

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULE = Snapshots()

ACCOUNT = Record(
    id="account-A",
    kommun="nora",
    kind=RecordKind.ACCOUNT,
    account_id="A",
    account_name="norakommun",
    platform="facebook",
    url="https://www.facebook.com/norakommun",
    content={
        "name": "norakommun",
        "purpose": "Informera invånarna",
        "department": "Kommunstyrelseförvaltningen",
        "administrators": [{"name": "Anna Andersson", "email": "anna@nora.example"}],
        "account_id": "A",
        "changes": ["plan.purpose"],
    },
    versions=(Version(1, "Verksamhetsplan inlämnad", T0, "e1"),),
    first_at=T0,
)


def _comment(n: int, text: str, **fields: object) -> Record:
    at = T0 + timedelta(minutes=n)
    record = Record(
        id=f"facebook-{n}",
        kommun="nora",
        kind=RecordKind.COMMENT,
        account_id="A",
        author=Author("u1", "Medborgare Ett", AuthorKind.PUBLIC),
        origin=Origin.RECEIVED,
        origin_at=at,
        versions=(Version(1, text, at, f"e{n}"),),
        states=(StateChange(PlatformState.PUBLISHED, at, f"e{n}"),),
        first_at=at,
    )
    return replace(record, **fields)  # type: ignore[arg-type]


def _account_fact(event_type: str, minutes: int) -> Fact:
    return Fact(
        f"ev-{event_type}-{minutes}",
        event_type,
        FactKind.ACCOUNT,
        "account-A",
        RecordKind.ACCOUNT,
        "A",
        T0 + timedelta(minutes=minutes),
    )


def test_P10_5_profile_and_purpose_changes_are_larger_administrators_not() -> None:
    assert larger_change(["plan.purpose"], RULE)
    assert larger_change(["plan.administrators", "name"], RULE)
    assert not larger_change(["plan.administrators", "plan.monitoring"], RULE)
    assert not larger_change([], RULE)


def test_P10_5_one_snapshot_id_per_key_safe_in_a_path() -> None:
    first = snapshot_id("nora", "A/../b c", "event-1")
    assert first == snapshot_id("nora", "A/../b c", "event-1")
    assert first != snapshot_id("nora", "A/../b c", "event-2")
    assert first != snapshot_id("ulricehamn", "A/../b c", "event-1")
    assert all(c.isalnum() or c in "-_" for c in first)


def test_L8_an_account_once_closed_is_closed_whatever_arrives_after() -> None:
    created, updated = _account_fact("account.created", 0), _account_fact("account.updated", 5)
    closing = _account_fact("account.closed", 10)

    def closed_at(*facts: Fact) -> datetime | None:
        record = None
        for i, fact in enumerate(facts):
            record = fold(record, fact, f"e{i}", "nora")
        assert record is not None
        return record.closed_at

    assert closed_at(created, updated) is None
    assert closed_at(created, closing) == closing.at
    # An update redelivered late, or stamped later, does not reopen it.
    assert closed_at(created, closing, _account_fact("account.updated", 20)) == closing.at


def test_P10_5_due_interval_days_after_the_last_or_the_first_fact() -> None:
    assert due_at(ACCOUNT, None, RULE) == T0 + timedelta(days=365)
    last = T0 + timedelta(days=100)
    assert due_at(ACCOUNT, last, RULE) == last + timedelta(days=365)
    assert due_at(ACCOUNT, last, Snapshots(interval_days=182)) == last + timedelta(days=182)
    assert due_at(replace(ACCOUNT, first_at=None), None, RULE) is None


def test_P10_3_P10_6_L4_an_item_shows_author_kind_and_origin_and_never_a_sealed_text() -> None:
    open_item = item(_comment(1, "Hej kommunen"))
    assert (open_item.text, open_item.author_kind, open_item.origin) == (
        "Hej kommunen",
        "allmänheten",
        "inkommen",
    )
    assert open_item.state == "publicerad"
    assert open_item.versions == 1

    sealed = item(
        _comment(
            2,
            "Mitt personnummer är 19121212-1212",
            confidential=True,
            registration=Registration("KS 2026/000001", T0, "e9"),
        )
    )
    assert sealed.text == SEALED_TEXT
    assert sealed.sealed
    assert sealed.diary_number == "KS 2026/000001"
    assert "19121212" not in repr(sealed)


def test_L7_an_item_masks_marked_passages_and_personnummer() -> None:
    text = "Ring mig, 19121212-1212, om ärendet med grannen Olsson"
    start = text.index("grannen")
    mark = Mark(1, start, len(text), "OSL 26:1", "registrator", T0, "e7")
    shown = item(_comment(3, text, marks=(mark,))).text
    assert shown == "Ring mig, [personnummer], om ärendet med [sekretess]"


def test_P10_5_plan_facts_in_swedish_without_bookkeeping() -> None:
    rows = dict(plan_facts(ACCOUNT.content))
    assert rows["Syfte och målgrupp"] == "Informera invånarna"
    assert rows["Administratörer"] == "name: Anna Andersson; email: anna@nora.example"
    assert "account_id" not in rows
    assert "changes" not in rows


def test_L8_a_file_too_large_for_the_store_leaves_out_the_oldest_and_says_so() -> None:
    items = [item(_comment(n, f"Kommentar nummer {n} " + "lång text " * 200)) for n in range(40)]
    items.reverse()  # newest first, as the store gives them
    whole, none_dropped = render("Nora kommun", ACCOUNT, items, "yearly", T0, RULE)
    assert none_dropped == 0

    pdf, dropped = render("Nora kommun", ACCOUNT, items, "yearly", T0, RULE, limit=len(whole) // 2)

    assert 0 < dropped < len(items)
    assert len(pdf) <= len(whole) // 2
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert f"{dropped} äldre inlägg och kommentarer" in " ".join(text.split())
    assert "Kommentar nummer 39" in text  # the newest stays
    assert "Kommentar nummer 0 " not in text  # the oldest went

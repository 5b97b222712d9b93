"""The diarium's pure rules: numbers in the kommun's format by the Swedish year (P10.3),
summaries without the secret content (L7), what is registered (P10.3, P10.7, L5)."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.archive.domain.diarium import (
    UNKNOWN_SENDER,
    diary_number,
    entry_id,
    new_entry,
    should_register,
    summary_of,
    year_of,
)
from services.archive.domain.records import (
    Author,
    AuthorKind,
    Origin,
    PlatformState,
    Record,
    RecordKind,
    Registration,
    StateChange,
    Version,
)
from shared.kommun import Diarium, load_kommun_config
from shared.personnummer import find_personnummer
from tests.helpers import ROOT

KOMMUN = load_kommun_config(ROOT / "shared/reference/kommun.yaml")
AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRET = "Mitt personnummer är 19811218-9876, ring mig om bygglovet"


def confidential_comment(**fields: object) -> Record:
    record = Record(
        id="facebook-1",
        kommun="nora",
        kind=RecordKind.COMMENT,
        account_id="acc-1",
        account_name="norakommun",
        platform="facebook",
        author=Author("10001", "Medborgare Ett", AuthorKind.PUBLIC),
        origin=Origin.RECEIVED,
        origin_at=AT,
        versions=(Version(1, SECRET, AT, "e1"),),
        states=(
            StateChange(PlatformState.PUBLISHED, AT, "e1"),
            StateChange(PlatformState.HIDDEN, AT, "e2"),
        ),
        confidential=True,
        confidential_kinds=("personnummer",),
        first_at=AT,
        last_at=AT,
    )
    return replace(record, **fields)  # type: ignore[arg-type]


def test_P10_3_number_in_the_reference_format() -> None:
    assert KOMMUN.archive.diarium.number_format == "KS {year}/{seq:06d}"
    assert diary_number(KOMMUN.archive.diarium, 2026, 123) == "KS 2026/000123"
    assert diary_number(Diarium(number_format="KLF-{seq}/{year}"), 2027, 4) == "KLF-4/2027"


def test_P10_3_entry_ids_are_url_safe() -> None:
    assert entry_id("nora", 2026, 123) == "nora-2026-000123"


def test_P10_3_the_year_is_swedish_local_time() -> None:
    # 23:30 UTC on New Year's Eve is 00:30 on New Year's Day in Stockholm.
    assert year_of(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == 2027
    assert year_of(datetime(2026, 12, 31, 22, 59, tzinfo=UTC)) == 2026
    assert year_of(datetime(2027, 6, 30, 22, 30, tzinfo=UTC)) == 2027  # summer time


def test_P10_3_L7_summary_says_what_it_is_without_text_or_personnummer() -> None:
    summary = summary_of(confidential_comment())

    assert summary == (
        "Kommentar från allmänheten på Facebook-kontot norakommun, 2026-11-23, kan "
        "innehålla uppgifter som omfattas av sekretess (personnummer); dold på plattformen"
    )
    assert "19811218" not in summary
    assert "bygglov" not in summary
    assert not find_personnummer(summary)


def test_L7_no_personnummer_from_names_and_no_matched_words_in_the_summary() -> None:
    record = confidential_comment(
        account_name="konto 19811218-9876",
        author=Author("1", "811218-9876", AuthorKind.PUBLIC),
        confidential_kinds=("personnummer", "diabetes"),  # a word a word list matched
    )
    entry = new_entry(record, KOMMUN.archive.diarium, 1, AT, "comment.confidential")

    assert not find_personnummer(entry.summary)
    assert not find_personnummer(entry.sender)
    assert "diabetes" not in entry.summary
    assert "(personnummer, andra uppgifter)" in entry.summary


def test_P10_3_a_moderators_decision_and_an_unknown_author() -> None:
    record = confidential_comment(
        author=None, account_name="", platform="", confidential_kinds=(), states=()
    )
    entry = new_entry(record, KOMMUN.archive.diarium, 7, AT, "moderation.decided")

    assert entry.sender == UNKNOWN_SENDER
    assert entry.summary == (
        "Kommentar (avsändaren ännu okänd) på kontot acc-1, 2026-11-23, kan innehålla "
        "uppgifter som omfattas av sekretess (enligt moderatorns beslut)"
    )
    assert (entry.number, entry.year, entry.seq, entry.id) == (
        "KS 2026/000007",
        2026,
        7,
        "nora-2026-000007",
    )


def test_P10_6_a_post_by_the_kommun_and_an_account_plan() -> None:
    post = confidential_comment(
        kind=RecordKind.POST,
        author=Author("kommun", "Nora kommun", AuthorKind.KOMMUN),
        confidential=False,
        confidential_kinds=(),
        states=(StateChange(PlatformState.PUBLISHED, AT, "e1"),),
    )
    assert summary_of(post) == (
        "Inlägg från kommunen på Facebook-kontot norakommun, 2026-11-23; publicerad på plattformen"
    )
    plan = replace(post, kind=RecordKind.ACCOUNT, states=())
    assert summary_of(plan).startswith("Verksamhetsplan för kontot och dess ändringar på")


@pytest.mark.parametrize(
    ("fields", "by_hand", "registered"),
    [
        ({}, False, True),  # confidential: at once (P10.3)
        ({"minor": True}, False, True),  # secret content always (L5)
        ({"confidential": False}, False, False),  # kept in order instead (P10.4)
        ({"confidential": False}, True, True),  # the registrar asks (P10.3)
        ({"confidential": False, "minor": True}, True, False),  # minor (P10.7)
        ({"registration": Registration("KS 2026/000001", AT, "e3")}, True, False),
    ],
)
def test_P10_3_P10_7_L5_what_is_registered(
    fields: dict[str, object], by_hand: bool, registered: bool
) -> None:
    assert should_register(confidential_comment(**fields), by_hand=by_hand) is registered


def test_P10_3_a_number_format_without_year_or_seq_is_refused_at_start() -> None:
    import pytest
    from pydantic import ValidationError

    from shared.kommun import Diarium

    for wrong in ("KS {seq:06d}", "KS {year}", "KS {year.x}/{seq}", "KS {year}/{seq:q}"):
        with pytest.raises(ValidationError, match="number_format"):
            Diarium(number_format=wrong)

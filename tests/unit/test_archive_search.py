"""Masking for requests for public records and the derived query fields, without NATS or
a store (L4, L7, P10.3)."""

from dataclasses import replace
from datetime import UTC, datetime

from services.archive.domain.records import (
    Author,
    AuthorKind,
    Mark,
    Record,
    RecordKind,
    Registration,
    Version,
)
from services.archive.domain.search import (
    mark_violations,
    masked_text,
    record_fields,
    shown,
    words_of,
)

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERSONNUMMER = "19811218-9876"
SAMORDNINGSNUMMER = "701063-2391"  # day 63: born the 3rd


def record(*texts: str, **fields: object) -> Record:
    versions = tuple(Version(i, t, AT, f"e{i}") for i, t in enumerate(texts, start=1))
    base = Record(
        "c1",
        "nora",
        RecordKind.COMMENT,
        "acc",
        author=Author("1", "Medborgare", AuthorKind.PUBLIC),
        versions=versions,
        first_at=AT,
        origin_at=AT,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def mark(version: int, start: int, end: int) -> Mark:
    return Mark(version, start, end, "OSL 26 kap. 1 §", "registrator", AT, "m")


def test_L7_valid_personnummer_and_samordningsnummer_are_masked_others_not() -> None:
    r = record(f"A {PERSONNUMMER} B {SAMORDNINGSNUMMER} C 19811218-9875 D")
    assert masked_text(r, r.versions[0]) == "A [personnummer] B [personnummer] C 19811218-9875 D"


def test_L7_marked_passages_are_masked_only_in_their_version() -> None:
    r = record("Hemligt namn här", "Hemligt namn där", marks=(mark(1, 8, 12),))
    shown_ = shown(r, registrar=False)
    assert [v.text for v in shown_.versions] == ["Hemligt [sekretess] här", "Hemligt namn där"]


def test_L7_a_mark_over_a_personnummer_is_one_masked_passage() -> None:
    text = f"Nr {PERSONNUMMER} tack"
    r = record(text, marks=(mark(1, 0, 6),))
    assert masked_text(r, r.versions[0]) == "[sekretess] tack"


def test_L7_P10_3_a_sealed_record_shows_no_text_nor_links() -> None:
    r = record("Känsligt", confidential=True)
    r = replace(r, versions=(replace(r.versions[0], links=("https://x.se",)),))
    assert [v.text for v in shown(r, registrar=False).versions] == [
        "[sekretess – väntar på registrering]"
    ]
    assert shown(r, registrar=False).versions[0].links == ()
    registered = replace(r, registration=Registration("KS 2026/000001", AT, "e9"))
    assert (
        shown(registered, registrar=False).versions[0].text
        == "[sekretess – registrerad KS 2026/000001]"
    )


def test_L7_the_registrar_sees_everything() -> None:
    r = record(f"Nr {PERSONNUMMER}", confidential=True, marks=(mark(1, 0, 2),))
    assert shown(r, registrar=True) == r


def test_L4_words_casefolded_swedish_letters_kept_every_version_no_personnummer() -> None:
    assert words_of(f"Snö, SNÖ och Ärende {PERSONNUMMER}!") == ["snö", "och", "ärende"]
    r = record("Första ORDET", "Andra ordet", marks=(mark(2, 0, 5),))
    fields = record_fields(r)
    assert fields["words"] == ["andra", "första", "ordet"]
    assert fields["open_words"] == ["första", "ordet"]  # the marked word is the registrar's
    assert record_fields(replace(r, confidential=True))["open_words"] == []
    assert fields["dated"] == AT
    assert (fields["origin_kind"], fields["author_kind"]) == ("unknown", "public")


def test_L7_mark_violations_name_the_field() -> None:
    r = record("kort text")
    assert [v.field for v in mark_violations(r, 2, 0, 1, "skäl")] == ["version"]
    assert [v.field for v in mark_violations(r, 1, 3, 3, "skäl")] == ["end"]
    assert [v.field for v in mark_violations(r, 1, 9, 10, "skäl")] == ["start"]
    assert [v.field for v in mark_violations(r, 1, 0, 10, "skäl")] == ["end"]
    assert [v.field for v in mark_violations(r, 1, 0, 4, " ")] == ["reason"]
    assert mark_violations(r, 1, 0, 9, "skäl") == []

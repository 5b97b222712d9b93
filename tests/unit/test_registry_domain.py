"""The registry's pure rules: naming (P4.2, P4.3), attendance (P3.3, P5.1, P5.6),
no personnummer in a plan (L7, P7)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.registry.domain.absence import Absence, attendance, escalation
from services.registry.domain.naming import facebook_page_problem, handle_problem, host_problem
from services.registry.domain.plan import ActivityPlan, parse_plan
from shared.events import PersonRef
from shared.kommun import HandleNaming, load_kommun_config
from shared.rules import RuleViolations, Violation
from tests.helpers import ROOT, plan_json

NAMING = HandleNaming(accepted=["orsakommun"], short="orsa", abbreviations=["km", "kn", "kom"])
KOMMUN = load_kommun_config(ROOT / "shared/reference/kommun.yaml")


@pytest.mark.parametrize("handle", ["orsakm", "Orsa_KM", "orsakn.kultur", "@orsakom"])
def test_P4_2_abbreviations_of_the_kommun_are_refused(handle: str) -> None:
    assert handle_problem(handle, NAMING) is not None


@pytest.mark.parametrize(
    "handle", ["orsakommunnaringsliv", "Orsa.Kommun.Kultur", "orsanaringsliv", "biblioteket"]
)
def test_P4_2_full_names_and_other_names_pass(handle: str) -> None:
    assert handle_problem(handle, NAMING) is None


def test_B1_host_follows_the_platform() -> None:
    assert host_problem("instagram", "https://www.instagram.com/orsakommun") is None
    assert host_problem("instagram", "https://www.facebook.com/orsakommun") is not None
    assert host_problem("x", "https://twitter.com/orsakommun") is None
    assert host_problem("facebook", "http://www.facebook.com/orsakommun") is not None
    assert host_problem("mastodon", "https://social.example/@orsakommun") is None
    assert host_problem("mastodon", "https://social.example/orsakommun") is not None
    assert host_problem("other", "https://forum.example/orsa") is None


def test_P4_3_facebook_page_addresses() -> None:
    assert facebook_page_problem("https://www.facebook.com/orsakommunkultur") is None
    for url in (
        "https://www.facebook.com/groups/orsa",
        "https://www.facebook.com/profile.php?id=1",
        "https://www.facebook.com/people/Anna/1",
        "https://www.facebook.com/abc",
    ):
        assert facebook_page_problem(url) is not None, url


NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _person(name: str) -> PersonRef:
    return PersonRef(name=name.title(), email=f"{name}@kommun.example")


def _away(name: str, substitute: str | None = None, days: int = 2) -> Absence:
    return Absence(
        id=name,
        kommun="nora",
        person=_person(name),
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=days),
        substitute=_person(substitute) if substitute else None,
        registered_by="x",
    )


ADMINS = ["anna@kommun.example", "bengt@kommun.example"]


def test_P3_3_someone_present_means_attended() -> None:
    assert not attendance(ADMINS, [_away("anna")], NOW).unattended


def test_P3_3_everyone_away_without_substitutes_means_unattended() -> None:
    state = attendance(ADMINS, [_away("anna"), _away("bengt")], NOW)
    assert state.unattended
    assert [p.name for p in state.absent] == ["Anna", "Bengt"]


def test_P5_1_a_present_substitute_attends_and_an_absent_one_does_not() -> None:
    assert not attendance(ADMINS, [_away("anna", "cecilia"), _away("bengt")], NOW).unattended
    absences = [_away("anna", "cecilia"), _away("bengt"), _away("cecilia")]
    assert attendance(ADMINS, absences, NOW).unattended


def test_P3_3_an_absence_over_or_not_begun_does_not_count() -> None:
    assert not attendance(
        ADMINS, [_away("anna"), _away("bengt")], NOW + timedelta(days=3)
    ).unattended


def test_P5_6_escalation_to_unit_head_then_department_head() -> None:
    targets = escalation("Bildningsförvaltningen", "Biblioteket", KOMMUN)
    assert [(t.level, t.role, str(t.person.email)) for t in targets] == [
        (1, "enhetschef", "bibliotek@nora.example"),
        (2, "förvaltningschef", "fc.bildning@nora.example"),
    ]
    fallback = escalation("Okänd", "Okänd", KOMMUN)
    assert [t.role for t in fallback] == ["informationsansvarig"]


TODAY = NOW.date()


def _plan_with(path: str, text: str) -> dict[str, Any]:
    """The example plan with the text at a dotted path such as administrators.0.name."""
    plan = plan_json()
    *parents, last = path.split(".")
    node: Any = plan
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[last] = text
    return plan


def _refusals(plan: dict[str, Any]) -> dict[str, Violation]:
    with pytest.raises(RuleViolations) as refused:
        parse_plan(plan, KOMMUN, TODAY)
    return {v.field: v for v in refused.value.violations}


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("handle", "norakommun191212121212"),
        ("url", "https://www.facebook.com/norakommun191212121212"),
        ("department", "Kommunstyrelseförvaltningen 19121212-1212"),
        ("unit", "Näringsliv 121212-1212"),
        ("purpose", "Frågor besvaras av Anna Andersson, 19121212-1212, på vardagar."),
        ("audience", "Företagare; kontaktperson 121212+1212"),
        ("administrators.0.name", "Anna Andersson 191212121212"),
        ("administrators.1.email", "191212121212@nora.example"),
        ("administrators.1.phone", "19121212-1212"),
        ("operators.0.name", "Cecilia Carlsson 701063-2391"),  # a samordningsnummer
    ],
)
def test_L7_P7_a_personnummer_in_any_text_of_the_plan_is_refused(field: str, text: str) -> None:
    refused = _refusals(_plan_with(field, text))
    assert refused[field].rule == "L7"
    assert "personnummer" in refused[field].sv
    assert "1212" not in refused[field].sv + refused[field].en  # the number is not repeated


def test_L7_every_field_with_a_personnummer_is_named_at_once() -> None:
    plan = _plan_with("purpose", "Kontakt: 19121212-1212 eller Anna.")
    plan["administrators"][0]["name"] = "Anna 121212-1212"
    plan["operators"][0]["name"] = "Cecilia 701063-2391"
    assert {"purpose", "administrators.0.name", "operators.0.name"} <= set(_refusals(plan))


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("purpose", "Svara på frågor om faktura 1234567890 och om upphandlingar."),
        ("purpose", "Frågor om 811218-9875 (fel kontrollsiffra) besvaras också."),
        ("administrators.1.phone", "0702123456"),  # ten bare digits: a mobile number
    ],
)
def test_L7_numbers_that_are_not_personnummer_pass(field: str, text: str) -> None:
    plan = parse_plan(_plan_with(field, text), KOMMUN, TODAY)
    assert plan.model_dump(mode="json")["purpose"]


def test_L7_a_stored_plan_is_read_back_as_it_was_saved() -> None:
    """Validation without context (the store reading a document) does not refuse old data."""
    stored = parse_plan(plan_json(), KOMMUN, TODAY).model_dump(mode="json")
    stored["purpose"] = "Sparad före L7-kontrollen: 19121212-1212."
    assert ActivityPlan.model_validate(stored).purpose.endswith("1212.")


def test_L7_the_public_entry_never_shows_a_personnummer_even_from_an_old_plan() -> None:
    from services.registry.domain.account import Account, State
    from services.registry.register import public_entry

    valid = parse_plan(plan_json(), KOMMUN, TODAY)
    old = valid.model_copy(update={"purpose": "Kontakt: 19121212-1212 svarar"})  # unchecked
    account = Account("a1", "nora", old, State.ACTIVE, "anna", datetime(2026, 1, 1, tzinfo=UTC))
    entry = public_entry(account)
    assert "1212-1212" not in entry["purpose"]
    assert "Kontakt:" in entry["purpose"]


@pytest.mark.parametrize("start", [0, 3600, "08:00+01:00", "8", "25:00"])
def test_B1_a_monitoring_time_is_a_local_HH_MM_never_a_number_or_an_offset(start: Any) -> None:
    plan = plan_json()
    plan["monitoring"] = plan["monitoring"] | {"start": start}
    with pytest.raises(RuleViolations) as refused:  # was a 500: aware and naive compared
        parse_plan(plan, KOMMUN, TODAY)
    assert [(v.field, v.rule) for v in refused.value.violations] == [("monitoring.start", "B1")]

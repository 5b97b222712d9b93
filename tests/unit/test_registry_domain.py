"""The registry's pure rules: naming (P4.2, P4.3), attendance (P3.3, P5.1, P5.6),
monitoring windows with Swedish public holidays (B1 item 7, L2)."""

from datetime import UTC, datetime, time, timedelta

import pytest

from services.registry.domain.absence import Absence, attendance, escalation
from services.registry.domain.naming import facebook_page_problem, handle_problem, host_problem
from services.registry.domain.plan import Monitoring
from shared.events import PersonRef
from shared.kommun import HandleNaming, load_kommun_config
from tests.helpers import ROOT

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


def test_B1_monitoring_window_knows_swedish_public_holidays() -> None:
    weekdays = Monitoring(days=["mon", "tue", "wed", "thu", "fri"], start=time(8), end=time(17))
    monday_10 = datetime(2026, 11, 23, 9, tzinfo=UTC)  # 10:00 in Sweden
    assert weekdays.covers(monday_10)
    assert not weekdays.covers(monday_10.replace(hour=17))  # 18:00 in Sweden
    boxing_day = datetime(2025, 12, 26, 9, tzinfo=UTC)  # annandag jul, a Friday
    assert not weekdays.covers(boxing_day)
    with_holidays = weekdays.model_copy(update={"public_holidays": True})
    assert with_holidays.covers(boxing_day)

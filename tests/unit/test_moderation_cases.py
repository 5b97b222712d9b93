"""Moderation's cases as pure rules: what opens one, what a decision may be, what a new
reading changes. No NATS, no store (the integration tests run the same on real parts)."""

from datetime import UTC, datetime

import pytest

from services.moderation.domain import cases
from services.moderation.domain.accounts import WatchedAccount
from services.moderation.domain.cases import CaseState, Reading, Ruling
from services.moderation.domain.classification import classifier_for
from shared.events import Actor, Author, ItemData, ModerationEscalated
from shared.kommun import load_kommun_config
from shared.rules import RuleViolations
from tests.helpers import REFERENCE

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
KOMMUN = load_kommun_config(REFERENCE)
CECILIA = Actor(subject="cecilia", name="Cecilia")
ACCOUNT = WatchedAccount(
    id="a1",
    kommun="nora",
    name="norakommunnaringsliv",
    platform="facebook",
    removal_hours=48,
    answer_hours=24,
    department="Kommunstyrelseförvaltningen",
    unit="Näringsliv",
)


def _comment(text: str) -> cases.Comment:
    data = ItemData(
        comment_id="facebook-1",
        platform="facebook",
        platform_id="1",
        account_id="a1",
        account_name=ACCOUNT.name,
        author=Author(id="9", name="Medborgare"),
        text=text,
        created_at=NOW,
        received_at=NOW,
    )
    return cases.received(data, "nora")


def _reading(text: str) -> Reading:
    found = classifier_for(None).classify(text)
    return Reading(found.label, found.category, found.rules, found.evidence)


def _case(text: str) -> cases.Case:
    comment = _comment(text)
    case, _ = cases.open_case(comment, _reading(text), ACCOUNT, None, KOMMUN, NOW)
    return case


def test_p3_7_open_dialogue_but_threats_are_countered() -> None:
    assert _reading("Kommunens budget är ett hån mot skattebetalarna!").label == "keep"
    threat = "Jag ska döda dig"
    case, events = cases.open_case(_comment(threat), _reading(threat), ACCOUNT, None, KOMMUN, NOW)
    assert case.label == "remove"
    assert any(isinstance(e, ModerationEscalated) for e in events)


def test_p6_no_removal_for_criticism_and_none_without_a_category() -> None:
    case = _case("Köp billiga klockor, 80% rabatt, klicka här https://x.example")
    with pytest.raises(RuleViolations) as refused:
        cases.check(case, Ruling("remove", "kritik", "criticism"), CECILIA)
    assert refused.value.violations[0].rule == "P6"
    with pytest.raises(RuleViolations):
        cases.check(case, Ruling("hide", "reklam"), CECILIA)
    cases.check(case, Ruling("remove", "reklam", "advertising"), CECILIA)


def test_p5_9_a_personal_attack_is_neither_answered_nor_corrected() -> None:
    case = _case("Anna du är en jävla idiot")
    assert case.category == "personal_attack"
    for resolution in ("answer", "correct"):
        with pytest.raises(RuleViolations) as refused:
            cases.check(case, Ruling(resolution, "x", "neutral", reply="Hej"), CECILIA)
        assert refused.value.violations[0].rule == "P5.9"


def test_p5_1_a_case_claimed_by_another_is_not_decided_by_you() -> None:
    case, _ = cases.claim(_case("Hur ansöker jag om bygglov?"), CECILIA, NOW)
    olle = Actor(subject="olle", name="Olle")
    with pytest.raises(RuleViolations) as refused:
        cases.check(case, Ruling("answer", reply="Så här gör du"), olle)
    assert refused.value.violations[0].rule == "P5.1"


def test_l7_the_police_report_draft_never_holds_a_personnummer() -> None:
    text = "Jag ska döda dig, 19121212-1212"
    _, events = cases.open_case(_comment(text), _reading(text), ACCOUNT, None, KOMMUN, NOW)
    [escalated] = [e for e in events if isinstance(e, ModerationEscalated)]
    assert "1212" not in escalated.data.police_report.text


def test_p5_8_a_more_serious_reading_escalates_an_open_case() -> None:
    case = _case("Hur ansöker jag om bygglov?")
    assert case.label == "answer"
    threat = "Jag ska döda dig"
    case, events = cases.reread(case, _reading(threat), threat, ACCOUNT, KOMMUN, NOW)
    assert (case.label, case.category, case.escalated) == ("remove", "threat", True)
    assert case.state is CaseState.OPEN
    assert len(events) == 1
    # The same reading again changes nothing more (a redelivered edit).
    again, more = cases.reread(case, _reading(threat), threat, ACCOUNT, KOMMUN, NOW)
    assert more == []
    assert again.escalated

"""The services' pure rules, without NATS or a store."""

from datetime import UTC, datetime

from services.archive.domain.records import Origin, fact_of, fold
from services.moderation.domain.accounts import watch
from services.registry.domain.account import State, create
from services.registry.domain.plan import parse_plan
from shared.events import AccountCreated
from shared.kommun import load_kommun_config
from shared.principal import Principal, Role
from tests.conftest import ROOT
from tests.helpers import account_created, plan_json

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
KOMMUN = load_kommun_config(ROOT / "shared/reference/kommun.yaml")


def test_submitting_a_plan_makes_a_submitted_account_and_its_event() -> None:
    plan = parse_plan(plan_json(), KOMMUN, NOW.date())
    anna = Principal("anna", "Anna", frozenset({Role.COMMUNICATOR}))
    account, events = create("nora", plan, anna, NOW)
    assert account.state is State.SUBMITTED
    [event] = events
    assert isinstance(event, AccountCreated)
    assert event.subject == account.id
    assert event.data.account_id == account.id
    assert event.time == NOW
    assert event.data.submitted_by == "anna"
    assert event.data.removal_deadline_hours == 48


def test_plan_is_kept_as_a_record_drawn_up_by_the_kommun() -> None:
    event = account_created()
    record = fold(None, fact_of(event, KOMMUN.archive.minor_importance), "e1", "nora")
    assert record.id == f"account-{event.data.account_id}"
    assert record.origin is Origin.DRAWN_UP  # P10.4
    assert record.content["account_id"] == event.data.account_id


def test_moderation_watches_with_the_plans_deadlines() -> None:
    event = account_created()
    stricter = event.model_copy(
        update={
            "data": event.data.model_copy(
                update={"removal_deadline_hours": 12, "answer_deadline_hours": 8}
            )
        }
    )
    watched = watch(stricter.data, stricter.kommun, KOMMUN)
    assert (watched.removal_hours, watched.answer_hours) == (12, 8)


def test_moderation_falls_back_to_the_kommuns_deadlines() -> None:
    event = account_created()
    bare = event.model_copy(
        update={
            "data": event.data.model_copy(
                update={"removal_deadline_hours": None, "answer_deadline_hours": None}
            )
        }
    )
    watched = watch(bare.data, bare.kommun, KOMMUN)
    assert watched.removal_hours == KOMMUN.deadlines.removal_hours
    assert watched.answer_hours == KOMMUN.deadlines.answer_hours

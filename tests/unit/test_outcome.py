"""How a message is settled: reasons that name the field and the rule; growing delays."""

import pytest

from shared.bus.errors import InvalidEvent
from shared.bus.outcome import ContractViolation, backoff, invalid_reason, validate
from tests.helpers import account_created

SERVED = frozenset({"nora", "vasterby"})


def test_backoff_doubles_up_to_the_longest() -> None:
    assert [backoff(n, 1.0, 10.0) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_valid_body_is_the_event() -> None:
    event = account_created()
    assert validate("account.created.nora", event.model_dump_json().encode(), SERVED) == event


def test_contract_violation_names_contract_and_fields() -> None:
    with pytest.raises(ContractViolation) as err:
        validate("account.created.nora", b'{"id": "1", "data": {"platform": "myspace"}}', SERVED)
    reason = invalid_reason(err.value)
    assert reason is not None
    assert "AccountCreated (se.kanalvakt.account.created.v1)" in reason
    assert "data.platform" in reason
    assert "source" in reason


def test_not_json_is_a_contract_violation() -> None:
    with pytest.raises(ContractViolation, match="Invalid JSON"):
        validate("account.created.nora", b"\xff\xfe", SERVED)


def test_unknown_subject_is_left_to_the_handler() -> None:
    assert validate("something.else.nora", b"whatever", SERVED) is None
    assert validate("account.created", b"whatever", SERVED) is None, "no kommun: not ours"


def test_an_event_published_on_another_kommuns_subject_is_invalid() -> None:
    body = account_created(kommun="nora").model_dump_json().encode()
    with pytest.raises(InvalidEvent, match="kommun: the event is of kommun 'nora'"):
        validate("account.created.vasterby", body, SERVED)


def test_an_event_of_a_kommun_not_served_here_is_invalid() -> None:
    body = account_created(kommun="lindesberg").model_dump_json().encode()
    with pytest.raises(InvalidEvent, match="'lindesberg' is not served"):
        validate("account.created.lindesberg", body, SERVED)


def test_only_input_faults_are_invalid() -> None:
    assert invalid_reason(InvalidEvent("data.account_id: unknown account")) is not None
    assert invalid_reason(ConnectionError("store down")) is None
    assert invalid_reason(KeyError("bug")) is None


def test_issue_12_the_events_metric_names_only_our_subjects_and_kommuner() -> None:
    from shared.bus.outcome import subject_label

    served = frozenset({"nora"})
    assert subject_label("comment.received.nora", served) == "comment.received.nora"
    assert subject_label("comment.received.elsewhere", served) == "comment.received.unknown"
    assert subject_label("whatever.someone.sent", served) == "unknown"

"""How a message is settled: reasons that name the field and the rule; growing delays."""

import pytest

from shared.bus.errors import InvalidEvent
from shared.bus.outcome import ContractViolation, backoff, invalid_reason, validate
from tests.helpers import account_created


def test_backoff_doubles_up_to_the_longest() -> None:
    assert [backoff(n, 1.0, 10.0) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_valid_body_is_the_event() -> None:
    event = account_created()
    assert validate("account.created", event.model_dump_json().encode()) == event


def test_contract_violation_names_contract_and_fields() -> None:
    with pytest.raises(ContractViolation) as err:
        validate("account.created", b'{"id": "1", "data": {"platform": "myspace"}}')
    reason = invalid_reason(err.value)
    assert reason is not None
    assert "AccountCreated (se.kanalvakt.account.created.v1)" in reason
    assert "data.platform" in reason
    assert "source" in reason


def test_not_json_is_a_contract_violation() -> None:
    with pytest.raises(ContractViolation, match="Invalid JSON"):
        validate("account.created", b"\xff\xfe")


def test_unknown_subject_is_left_to_the_handler() -> None:
    assert validate("something.else", b"whatever") is None


def test_only_input_faults_are_invalid() -> None:
    assert invalid_reason(InvalidEvent("data.account_id: unknown account")) is not None
    assert invalid_reason(ConnectionError("store down")) is None
    assert invalid_reason(KeyError("bug")) is None
